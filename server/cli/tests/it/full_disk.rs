//! Behaviour: when the disk under the database fills up, writes (and reads,
//! whose audit rows cannot be written either) answer UNAVAILABLE with
//! `RetryInfo`, never INTERNAL, and the server recovers by itself once space
//! is freed: no restart, nothing acknowledged lost.
//!
//! The disk is real: a small tmpfs mounted in a private mount namespace
//! (`unshare -m`, as root), filled with a ballast file the test writes and
//! removes through `/proc/<pid>/root`.
//!
//! Also: when the filesystem under the database turns read-only beneath the
//! running server (ext4's `errors=remount-ro` after a disk error, triggered
//! through ext4's own `trigger_fs_error`; every write then fails with EIO,
//! which SQLite reports as `SQLITE_IOERR`), calls answer UNAVAILABLE with
//! `RetryInfo`, never INTERNAL, and nothing acknowledged is lost once the
//! filesystem is repaired and the server restarted. Linux cannot take such a
//! filesystem back to read-write while files are open on it (`mount -o
//! remount,rw` keeps it emergency read-only, and a plain `remount,ro` beforehand
//! is refused as busy while SQLite holds its files open for writing), so
//! this case recovers through a restart, not in place.
//!
//! Without mount namespaces (not root, or a container without
//! `CAP_SYS_ADMIN`) these tests skip with a message, unless
//! `TUTTI_REQUIRE_NAMESPACES=1` (set by `scripts/test.sh` when it runs as
//! root), which makes them fail instead: a CI that silently lost the
//! capability would otherwise pass without testing anything.

use crate::support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
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

/// Whether a missing capability must fail the test instead of skipping it.
fn required() -> bool {
    std::env::var("TUTTI_REQUIRE_NAMESPACES").is_ok_and(|v| v == "1")
}

/// `true` when the test can run; else a loud skip, or a failure when [`required`].
fn can_run(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    assert!(
        !required(),
        "{what} are not available and TUTTI_REQUIRE_NAMESPACES=1: this test must run here"
    );
    eprintln!(
        "\n*** SKIPPED: {what} are not available here. Set TUTTI_REQUIRE_NAMESPACES=1 to fail instead. ***\n"
    );
    false
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
    if !can_run("mount namespaces (unshare -m)", namespaces_available()) {
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

    server.stop_cleanly().await;
}

/// A 64 MiB ext4 image without a journal (a journal aborted by the error
/// would keep the image from mounting read-write again), or `None` without
/// `mkfs.ext4`.
fn ext4_image(dir: &Path) -> Option<PathBuf> {
    let img = dir.join("disk.img");
    std::fs::File::create(&img).ok()?.set_len(64 << 20).ok()?;
    Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "^has_journal"])
        .arg(&img)
        .status()
        .is_ok_and(|s| s.success())
        .then_some(img)
}

/// Whether this machine can loop-mount an image in a private mount namespace.
fn loop_mount_works(img: &Path, mnt: &Path) -> bool {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -o loop \"$1\" \"$0\" && umount \"$0\"")
        .arg(mnt)
        .arg(img)
        .status()
        .is_ok_and(|s| s.success())
}

/// `tutti serve` on `img` loop-mounted at `mnt` (`errors=remount-ro`, as on
/// many distributions' root filesystems) in a private mount namespace.
fn serve_on_ext4(img: &Path, mnt: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -o loop,errors=remount-ro \"$1\" \"$0\" && exec \"$2\" serve --listen \
             127.0.0.1:0 --log-format json --data \"$0/tutti.db\"",
        )
        .arg(mnt)
        .arg(img)
        .arg(support::TUTTI);
    support::isolate(&mut cmd);
    cmd
}

/// The block device (`loop3`) mounted at `mnt` in the mount namespace of `pid`.
fn device_of(pid: u32, mnt: &Path) -> String {
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let mnt = mnt.to_str().expect("utf-8 path");
    info.lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            (before.split(' ').nth(4)? == mnt).then_some(())?;
            let source = after.split(' ').nth(1)?;
            Some(source.rsplit('/').next()?.to_owned())
        })
        .unwrap_or_else(|| panic!("{mnt} is not mounted in process {pid}:\n{info}"))
}

/// Asserts a storage-unavailable answer: UNAVAILABLE, `RetryInfo`, a
/// `STORAGE_*` reason.
fn assert_storage_unavailable(what: &str, status: &tonic::Status, log: &str) {
    assert_eq!(
        status.code(),
        Code::Unavailable,
        "{what}: {status:?}\nserver log:\n{log}"
    );
    let details = status.get_error_details();
    assert!(details.retry_info().is_some(), "{what}: {status:?}");
    let reason = details
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    assert!(reason.starts_with("STORAGE_"), "{what}: {reason}");
}

#[tokio::test]
async fn a_filesystem_turned_read_only_answers_unavailable_and_loses_nothing() {
    if !can_run("mount namespaces (unshare -m)", namespaces_available()) {
        return;
    }
    let dir = support::temp_dir();
    let mnt = dir.path().join("disk");
    std::fs::create_dir(&mnt).expect("mount point");
    let img = ext4_image(dir.path());
    let usable = img.as_deref().is_some_and(|i| loop_mount_works(i, &mnt));
    if !can_run("loop devices and mkfs.ext4", usable) {
        return;
    }
    let img = img.expect("checked above");

    let server = support::Server::spawn(serve_on_ext4(&img, &mnt))
        .await
        .expect("starts on the ext4 image");
    let mut people = PeopleServiceClient::new(server.channel());
    for n in 0..5 {
        create(&mut people, n)
            .await
            .expect("a write before the filesystem turns read-only");
    }

    // What the kernel does on a disk error under `errors=remount-ro`: the
    // filesystem refuses every write from now on, to files already open too.
    let dev = device_of(server.pid(), &mnt);
    std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "1\n")
        .expect("trigger an ext4 error");

    for n in 100..110 {
        let status = create(&mut people, n)
            .await
            .expect_err("a write on a read-only filesystem");
        assert_storage_unavailable("write", &status, &server.log_text());
    }
    // A read needs its audit row written, so it is refused the same way.
    let status = people
        .get_person(GetPersonRequest {
            name: "people/p-full-0".into(),
        })
        .await
        .expect_err("a read whose audit row cannot be written");
    assert_storage_unavailable("read", &status, &server.log_text());

    // The operator's repair: stop the server, check the filesystem, mount it
    // again. The namespace ends with the process, which unmounts the image
    // and detaches its loop device.
    server.kill_9().expect("kill -9");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = Command::new("losetup")
            .arg("-j")
            .arg(&img)
            .output()
            .expect("losetup -j");
        if out.stdout.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the loop device stayed attached: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let fsck = Command::new("e2fsck")
        .args(["-f", "-y"])
        .arg(&img)
        .output()
        .expect("e2fsck");
    // 0: clean; 1: errors corrected.
    assert!(
        matches!(fsck.status.code(), Some(0 | 1)),
        "e2fsck: {fsck:?}"
    );

    let server = support::Server::spawn(serve_on_ext4(&img, &mnt))
        .await
        .expect("restarts on the repaired filesystem");
    let mut people = PeopleServiceClient::new(server.channel());
    for n in 0..5 {
        people
            .get_person(GetPersonRequest {
                name: format!("people/p-full-{n}"),
            })
            .await
            .expect("every acknowledged write is still there");
    }
    let absent = people
        .get_person(GetPersonRequest {
            name: "people/p-full-100".into(),
        })
        .await
        .expect_err("a refused write was not stored");
    assert_eq!(absent.code(), Code::NotFound, "{absent:?}");
    create(&mut people, 200)
        .await
        .expect("writes work again after the repair");
}
