//! A throwaway PostgreSQL cluster for tests, started by the test itself:
//! `initdb` and `postgres` into a fresh directory under the system temporary
//! directory, listening on a free loopback port (as the `postgres` user when
//! the tests run as root, since PostgreSQL refuses to run as root). Nothing is
//! installed or configured by hand; only the PostgreSQL server binaries must
//! be on the machine (found through `TUTTI_PG_BIN`, `pg_config --bindir` or
//! `/usr/lib/postgresql/*/bin`).
//!
//! The cluster outlives no test process: it runs under a small shell that
//! waits for its standard input to close, which happens when the test process
//! exits, however it exits (a panic, `kill -9`); the shell then stops
//! PostgreSQL and removes the directory. So one cluster per test binary
//! ([`shared`]) is safe, and each test takes its own database
//! ([`fresh_database`]).
//!
//! Without PostgreSQL binaries the tests that need it are skipped with a loud
//! message, unless `TUTTI_REQUIRE_POSTGRES=1` (set by `scripts/test.sh`, which
//! CI runs) makes that a failure.
//!
//! It uses only the standard library, so the server's process tests
//! (`server/cli/tests/it/support`) include this file as a module too.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser the cluster is created with (trust authentication on loopback).
pub const USER: &str = "tutti";

/// How long a cluster may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running cluster. Dropping it stops PostgreSQL and removes its files.
pub struct PgCluster {
    port: u16,
    dir: PathBuf,
    child: Child,
    // Held open while the cluster should live; closing it stops the cluster.
    keepalive: Option<ChildStdin>,
    bin: PathBuf,
    tls: bool,
}

/// A server certificate and key (PEM) for a cluster that speaks TLS.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// Certificate chain, leaf first.
    pub cert_pem: String,
    /// Private key.
    pub key_pem: String,
}

/// Where the PostgreSQL server binaries are, if anywhere.
pub fn bin_dir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("TUTTI_PG_BIN").map(PathBuf::from) {
        return has_initdb(&d).then_some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&d) {
            return Some(d);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_initdb(d))
        .collect();
    // The newest major version.
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

impl PgCluster {
    /// Starts a new cluster (plaintext).
    pub fn start() -> Result<Self, String> {
        Self::start_with(None)
    }

    /// Starts a new cluster; with `tls`, it also accepts TLS connections
    /// with that certificate.
    pub fn start_with(tls: Option<ServerTls>) -> Result<Self, String> {
        let bin = bin_dir().ok_or("PostgreSQL server binaries not found")?;
        let mut last = String::new();
        // A port found free can be taken before PostgreSQL binds it: try again.
        for _ in 0..3 {
            match Self::try_start(&bin, tls.clone()) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(bin: &Path, tls: Option<ServerTls>) -> Result<Self, String> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
        let dir = std::env::temp_dir().join(format!(
            "tutti-pg-{}-{}-{port}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let root = running_as_root();
        let mut ssl = String::new();
        if let Some(t) = &tls {
            std::fs::write(dir.join("server.crt"), &t.cert_pem).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("server.key"), &t.key_pem).map_err(|e| e.to_string())?;
            ssl = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                shell_quote(&dir.join("server.crt")),
                shell_quote(&dir.join("server.key"))
            );
        }
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!("chown postgres {} failed", dir.display()));
            }
        }
        let data = dir.join("data");
        let log = dir.join("postgres.log");
        let q = |p: &Path| shell_quote(p);
        // Runs until its stdin closes (the test process is gone), then stops
        // PostgreSQL (fast shutdown) and removes everything.
        let script = format!(
            "chmod 600 {dir}/server.key 2>/dev/null; \
             {initdb} -D {data} -U {USER} --auth=trust -E UTF8 --no-sync >{log} 2>&1 || {{ cat {log} >&2; exit 1; }}; \
             {postgres} -D {data} -k {dir} -h 127.0.0.1 -p {port} -c max_connections=300{ssl} >>{log} 2>&1 & pid=$!; \
             cat >/dev/null; kill -INT $pid; wait $pid; rm -rf {dir}",
            dir = q(&dir),
            initdb = q(&bin.join("initdb")),
            postgres = q(&bin.join("postgres")),
            data = q(&data),
            log = q(&log),
        );
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting PostgreSQL: {e}"))?;
        let keepalive = child.stdin.take();
        let cluster = Self {
            port,
            dir,
            child,
            keepalive,
            bin: bin.to_owned(),
            tls: tls.is_some(),
        };
        cluster.wait_ready(&log)?;
        Ok(cluster)
    }

    fn wait_ready(&self, log: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut backoff = Duration::from_millis(20);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains("could not bind") || Instant::now() >= deadline {
                return Err(format!(
                    "PostgreSQL on port {} did not become ready:\n{text}",
                    self.port
                ));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(250));
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it accepts TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The URL of `database` as the cluster's superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs one SQL statement against `database` with `psql`; returns its output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                database,
                "-c",
                sql,
            ])
            .env("PGSSLMODE", "disable")
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql `{sql}`: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(self.url(name))
    }

    /// A new database with a unique name.
    pub fn fresh_database(&self) -> Result<String, String> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        self.create_database(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Closing stdin makes the shell stop PostgreSQL and remove the files.
        if let Some(mut stdin) = self.keepalive.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a missing PostgreSQL must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("TUTTI_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The test binary's cluster, started on first use; `None` (after a loud
/// message) when PostgreSQL is not installed and not [`required`].
pub fn shared() -> Option<&'static PgCluster> {
    static CLUSTER: OnceLock<Option<PgCluster>> = OnceLock::new();
    static MESSAGE: Mutex<bool> = Mutex::new(false);
    let cluster = CLUSTER.get_or_init(|| match bin_dir() {
        None if !required() => None,
        _ => Some(PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}"))),
    });
    if cluster.is_none() {
        let mut said = MESSAGE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !*said {
            *said = true;
            eprintln!(
                "\n*** SKIPPING PostgreSQL tests: no PostgreSQL server binaries found \
                 (install postgresql, or set TUTTI_PG_BIN). Set TUTTI_REQUIRE_POSTGRES=1 to fail instead. ***\n"
            );
        }
    }
    cluster.as_ref()
}

/// A fresh database on the [`shared`] cluster, or `None` when skipped.
pub fn fresh_database() -> Option<String> {
    shared().map(|c| {
        c.fresh_database()
            .unwrap_or_else(|e| panic!("creating a test database: {e}"))
    })
}
