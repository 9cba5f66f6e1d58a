#!/usr/bin/env bash
# Runs every check and test Tutti has, the same locally and in CI:
#   formatting, clippy (warnings denied), engine purity, proto lint and
#   breaking-change check, unit/property/integration/simulation tests,
#   generated-client drift check and smoke tests, browser tests in headless
#   Chromium (installed from Debian when missing), docs.
# It installs what it needs (buf from npm, pinned in scripts/tools/package.json)
# and starts what the tests need (a throwaway PostgreSQL cluster from the
# installed PostgreSQL server binaries); nothing has to be installed by hand but
# Rust (pinned by rust-toolchain.toml), Node.js, Python, Go, Java with Maven and
# PostgreSQL (installed from Debian when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools: buf (npm, pinned; cached outside the clone per lockfile)"
# shellcheck source=scripts/lib/tool-cache.sh
source scripts/lib/tool-cache.sh
tool_node_modules scripts/tools
BUF=scripts/tools/node_modules/.bin/buf

step "PostgreSQL server binaries (the tests start their own cluster)"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v pg_config >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries are missing: install postgresql (the tests start their own cluster)" >&2
    exit 1
  fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "engine purity: tutti-engine must not depend on tokio, tonic or hyper"
if cargo tree -p tutti-engine -e normal --prefix none | grep -E '^(tokio|tonic|hyper)[ -]'; then
  echo "tutti-engine depends on a runtime or transport crate (above); keep it pure" >&2
  exit 1
fi

step "serving-library purity: tutti-server must not depend on the workbench's plotting, fonts, Parquet or rayon"
if cargo tree -p tutti-server -e normal --prefix none | grep -E '^(plotters|parquet|rayon|dejavu|png)[ -]'; then
  echo "tutti-server depends on a data-science crate (above); it belongs in tutti-workbench" >&2
  exit 1
fi

step "buf lint and breaking-change check against the released contract"
"$BUF" lint
"$BUF" breaking --against proto/baseline/tutti-v1.binpb

step "cargo clippy (all targets, warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, property, integration, simulation, training; PostgreSQL tests start their own cluster)"
# The PostgreSQL tests (storage contract on both backends, several replicas on
# one database) start a throwaway cluster from the installed server binaries
# (tests/src/postgres.rs); here a missing PostgreSQL fails instead of skipping.
# The dev profile optimises the dependencies and the engine (Cargo.toml), so the
# simulation and training tests (the engine's captured-share claim over 5 seeds,
# about 30 s; a trained model helping new simulated people) run here with no
# release build; integration tests are one binary per package (`--test it`, a
# module per behaviour).
# The full-disk and read-only-filesystem tests (server/cli/tests/it/full_disk.rs)
# mount a tmpfs and a loop-mounted ext4 image in a private mount namespace,
# which needs root; as root (CI) a missing capability fails instead of skipping,
# the way a missing PostgreSQL does.
if [ "$(id -u)" = 0 ]; then
  export TUTTI_REQUIRE_NAMESPACES=1
fi
TUTTI_REQUIRE_POSTGRES=1 cargo test --workspace --locked

step "load generator: short smoke runs against in-process servers, SQLite and two replicas on PostgreSQL (no timing asserted)"
cargo run --locked -q -p tutti-benches --bin loadgen -- \
  --people 10 --history 5 --concurrency 2 --duration 1 --warmup 0.2 > /dev/null
cargo run --locked -q -p tutti-benches --bin loadgen -- --backend postgres --replicas 2 \
  --people 10 --history 5 --concurrency 2 --duration 1 --warmup 0.2 > /dev/null

step "CDS Hooks load generator: a short smoke run against an in-process server (no timing asserted)"
cargo run --locked -q -p tutti-benches --bin cdsload -- \
  --patients 5 --weeks 4 --concurrency 2 --duration 1 > /dev/null

step "generated clients: drift check and smoke tests (Python, Go, TypeScript, Java) against a real server"
scripts/test-clients.sh

step "browser tests: the TypeScript client over gRPC-Web, the clinician app and its SMART launch in a cross-site frame, in headless Chromium (Debian's)"
scripts/test-browser.sh

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

echo
echo "all checks passed"
