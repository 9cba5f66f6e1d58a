//! What a SQLite database leaves on disk: the file and its companions (WAL,
//! shared memory, rollback journal), read raw, for the tests that show erased
//! or expired data is gone from the bytes, not only from queries, and the
//! tables that must hold no row of an erased person. The standard library and
//! rusqlite only: the process tests of `tutti-cli` include this module too.

use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};

/// The tables that hold a person's data (not the audit trail, which keeps
/// who did what to the pseudonymous id, with no payload).
pub const PERSON_TABLES: [&str; 6] = [
    "people",
    "assessments",
    "recommendations",
    "feedback",
    "decisions",
    "idempotency",
];

/// The [`PERSON_TABLES`] that still hold rows of `person_id`, with how many.
pub fn person_rows(db: &Path, person_id: &str) -> Vec<(&'static str, i64)> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    PERSON_TABLES
        .iter()
        .map(|&table| {
            let n: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE person_id = ?1"),
                    params![person_id],
                    |r| r.get(0),
                )
                .expect("count");
            (table, n)
        })
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// How many stored first responses (idempotency records) `request_id` has;
/// read beside a live server (WAL readers do not block it).
pub fn idempotency_records(db: &Path, request_id: &str) -> i64 {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    conn.query_row(
        "SELECT count(*) FROM idempotency WHERE request_id = ?1",
        params![request_id],
        |r| r.get(0),
    )
    .expect("count")
}

/// The database file and its companions, as far as they exist.
pub fn files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter(|p| p.exists())
        .collect()
}

/// Which of the files hold `marker`'s bytes.
pub fn holding(db: &Path, marker: &str) -> Vec<PathBuf> {
    files(db)
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap_or_default();
            bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
        })
        .collect()
}
