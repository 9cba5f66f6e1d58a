//! Behaviour: the real binary refuses to start on a non-loopback address in
//! plaintext (unless `--insecure`) or without any authentication configured,
//! exiting non-zero with a message naming what to set; with credentials and
//! `--insecure` it starts.

use crate::support;

use std::process::Command;
use support::{TUTTI, isolate, temp_dir};

fn serve(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(TUTTI);
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.join("tutti.db"))
        .args(extra);
    isolate(&mut cmd);
    cmd.output().expect("runs tutti serve")
}

#[test]
fn plaintext_off_loopback_is_refused_without_the_insecure_flag() {
    let dir = temp_dir();
    let out = serve(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("plaintext off loopback is refused") && stderr.contains("tls.cert_path"),
        "the message says why and what to set: {stderr}"
    );
    assert!(!dir.path().join("tutti.db").exists(), "nothing was opened");
}

#[test]
fn a_public_address_without_authentication_is_refused() {
    let dir = temp_dir();
    let out = serve(dir.path(), &["--insecure"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("needs authentication") && stderr.contains("auth.api_keys"),
        "the message says why and what to set: {stderr}"
    );
}

#[tokio::test]
async fn with_credentials_and_the_insecure_flag_it_starts_off_loopback() {
    let dir = temp_dir();
    let config = dir.path().join("tutti.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.api_keys]]\nsha256 = \"{}\"\ntenant = \"acme\"\n",
            "ab".repeat(32)
        ),
    )
    .expect("config");
    // Bound to every address, but the test only talks to loopback.
    let mut cmd = Command::new(TUTTI);
    cmd.args([
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--insecure",
        "--log-format",
        "json",
    ])
    .arg("--config")
    .arg(&config)
    .arg("--data")
    .arg(dir.path().join("tutti.db"));
    isolate(&mut cmd);
    let server = support::Server::spawn(cmd).await;
    // The reported address is 0.0.0.0:port; reach it over loopback.
    let server = server.expect("starts with credentials and --insecure");
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    server.stop_cleanly().await;
}
