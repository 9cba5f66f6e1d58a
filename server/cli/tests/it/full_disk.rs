//! Behaviour: when the disk under the database fills up, writes (and reads,
//! whose audit rows cannot be written either) answer UNAVAILABLE with
//! `RetryInfo`, never INTERNAL, and the server recovers by itself once space
//! is freed: no restart, nothing acknowledged lost.
//!
//! The disk is real: a small tmpfs mounted in a private mount namespace
//! (`unshare -m`, as root), filled with a ballast file the test writes and
//! removes through `/proc/<pid>/root`.

use crate::support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use tonic::Code;
use tonic_types::StatusExt as _;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{CreatePersonRequest, GetPersonRequest};

fn namespaces_available() -> bool {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

async fn create(
    people: &mut PeopleServiceClient<tonic::transport::Channel>,
    n: usize,
) -> Result<(), tonic::Status> {
    people
        .create_person(CreatePersonRequest {
            request_id: format!("full-{n}"),
            person_id: format!("p-full-{n}"),
            conditions: vec![],
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_full_disk_answers_unavailable_and_recovers_when_space_is_freed() {
    if !namespaces_available() {
        eprintln!("SKIPPED: mount namespaces (unshare -m) are not available here");
        return;
    }
    let dir = support::temp_dir();
    let mnt = dir.path().join("disk");
    std::fs::create_dir(&mnt).expect("mount point");
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=16m tmpfs \"$0\" && exec \"$1\" serve --listen 127.0.0.1:0 \
             --log-format json --data \"$0/tutti.db\"",
        )
        .arg(&mnt)
        .arg(support::TUTTI);
    support::isolate(&mut cmd);
    let server = support::Server::spawn(cmd)
        .await
        .expect("starts on the tmpfs");
    let mut people = PeopleServiceClient::new(server.channel());
    create(&mut people, 0)
        .await
        .expect("a write before the disk fills");

    // Fill the disk the server sees.
    let seen = PathBuf::from(format!("/proc/{}/root", server.pid()))
        .join(mnt.strip_prefix("/").expect("absolute"));
    let ballast = seen.join("ballast");
    {
        let mut f = std::fs::File::create(&ballast).expect("ballast file");
        let chunk = vec![0xA5u8; 64 * 1024];
        let mut full = false;
        for _ in 0..1024 {
            if f.write_all(&chunk).and_then(|()| f.sync_all()).is_err() {
                full = true;
                break;
            }
        }
        assert!(full, "the 16 MiB disk never filled");
    }

    // Writes until one is refused: each answer is OK (room left in pages
    // SQLite had already) or UNAVAILABLE, never anything else.
    let mut refused = None;
    for n in 1..=500 {
        match create(&mut people, n).await {
            Ok(()) => {}
            Err(s) => {
                refused = Some(s);
                break;
            }
        }
    }
    let status = refused.expect("no write was refused on a full disk");
    assert_eq!(
        status.code(),
        Code::Unavailable,
        "{status:?}\nserver log:\n{}",
        server.log_text()
    );
    let details = status.get_error_details();
    assert!(details.retry_info().is_some(), "{status:?}");
    let reason = details
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    assert!(reason.starts_with("STORAGE_"), "{reason}");

    // Free the space: the next writes succeed, no restart needed.
    std::fs::remove_file(&ballast).expect("remove the ballast");
    let mut recovered = false;
    for n in 1000..1100 {
        match create(&mut people, n).await {
            Ok(()) => {
                recovered = true;
                break;
            }
            Err(s) => assert_eq!(s.code(), Code::Unavailable, "{s:?}"),
        }
    }
    assert!(recovered, "writes did not recover after space was freed");
    people
        .get_person(GetPersonRequest {
            name: "people/p-full-0".into(),
        })
        .await
        .expect("what was written before the disk filled is still there");

    server.signal("TERM").expect("SIGTERM");
    let (status, log) = server
        .wait_exit(std::time::Duration::from_secs(60))
        .await
        .expect("exits");
    assert!(status.success(), "{log}");
}
