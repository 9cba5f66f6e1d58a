//! What a SQLite database leaves on disk: the file and its companions (WAL,
//! shared memory, rollback journal), read raw, for the tests that show erased
//! or expired data is gone from the bytes, not only from queries. Standard
//! library only: the process tests of `tutti-cli` include this module too.

use std::path::{Path, PathBuf};

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
