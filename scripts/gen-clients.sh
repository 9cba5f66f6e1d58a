#!/usr/bin/env bash
# Regenerates every client's bindings from proto/ into clients/<lang>/, the one
# command for it (CI runs it in scripts/test-clients.sh and fails on drift).
#
#   Go          clients/go/tutti/v1/*.pb.go           buf + protoc-gen-go, protoc-gen-go-grpc
#   TypeScript  clients/typescript/src/gen/**/*_pb.ts buf + protoc-gen-es
#   Java        clients/java/src/main/java/health/tutti/v1/
#                                                     buf + protoc's java + protoc-gen-grpc-java
#   Python      clients/python/src/tutti_client/v1/   grpcio-tools (protoc + grpc_python bundled)
#
# Every tool is pinned and comes from a package registry (npm, the Go module
# proxy, Maven Central, PyPI); nothing from buf.build's remote plugins or from
# release downloads. Native tools are cached per version under
# ${GEN_CLIENTS_CACHE:-~/.cache/tutti/client-tools}; the JavaScript and Python
# ones live in gitignored folders inside the repo (node_modules, .venv).
# Output is deterministic: same proto/, same pins, same bytes.
#
# Usage: scripts/gen-clients.sh [--setup-only]
#   --setup-only installs the pinned tools and packages (also what
#   scripts/test-clients.sh needs) without generating anything.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C

# ---- pinned versions -------------------------------------------------------
# buf:               scripts/tools/package.json (@bufbuild/buf)
# protoc-gen-es:     clients/typescript/package.json (same lock as its runtime)
# grpcio-tools:      clients/python/requirements-dev.txt
PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf, = runtime in clients/go/go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2  # google.golang.org/grpc/cmd/protoc-gen-go-grpc
PROTOC_VERSION=4.36.2              # com.google.protobuf:protoc (protoc 36.2), = protobuf-java in clients/java/pom.xml
GRPC_JAVA_PLUGIN_VERSION=1.83.0    # io.grpc:protoc-gen-grpc-java (newest whose linux-x86_64 binary is served)
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.11.0

CACHE=${GEN_CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tutti/client-tools}
QUIET=${GEN_CLIENTS_QUIET:-}

log() { [[ -n $QUIET ]] || printf '  gen-clients: %s\n' "$*" >&2; }
die() { printf 'gen-clients: %s\n' "$*" >&2; exit 1; }

SETUP_ONLY=
case "${1:-}:$#" in
  :0) ;;
  --setup-only:1) SETUP_ONLY=1 ;;
  *) die "usage: scripts/gen-clients.sh [--setup-only]" ;;
esac

# Runs `npm ci` in $1 unless node_modules already matches its package-lock.json.
npm_ci_if_stale() {
  local dir=$1 stamp want
  stamp=$dir/node_modules/.tutti-lock-sha256
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

# Creates clients/python/.venv with the pinned generator and test dependencies
# (also used by scripts/test-clients.sh), unless it is already up to date.
python_venv() {
  local venv=$ROOT/clients/python/.venv req=$ROOT/clients/python/requirements-dev.txt stamp want
  stamp=$venv/.tutti-requirements-sha256
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
  log "creating clients/python/.venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
}

go_tools() {
  local bin=$CACHE/go-$PROTOC_GEN_GO_VERSION-grpc-$PROTOC_GEN_GO_GRPC_VERSION
  if [[ ! -x $bin/protoc-gen-go || ! -x $bin/protoc-gen-go-grpc ]]; then
    log "go install protoc-gen-go@$PROTOC_GEN_GO_VERSION protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
    mkdir -p "$bin"
    GOBIN=$bin GOFLAGS=-buildvcs=false go install -p 2 \
      "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
    GOBIN=$bin GOFLAGS=-buildvcs=false go install -p 2 \
      "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  fi
  ln -sf "$bin/protoc-gen-go" "$bin/protoc-gen-go-grpc" "$BIN/"
}

# protoc and protoc-gen-grpc-java are native executables published on Maven
# Central under an os-arch classifier (os-maven-plugin's names).
java_tools() {
  local classifier dir
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) classifier=linux-x86_64 ;;
    Linux-aarch64 | Linux-arm64) classifier=linux-aarch_64 ;;
    Darwin-x86_64) classifier=osx-x86_64 ;;
    Darwin-arm64) classifier=osx-aarch_64 ;;
    *) die "no protoc build on Maven Central for $(uname -s)-$(uname -m)" ;;
  esac
  dir=$CACHE/java-protoc-$PROTOC_VERSION-grpc-$GRPC_JAVA_PLUGIN_VERSION-$classifier
  if [[ ! -x $dir/protoc || ! -x $dir/protoc-gen-grpc-java ]]; then
    log "fetching protoc $PROTOC_VERSION and protoc-gen-grpc-java $GRPC_JAVA_PLUGIN_VERSION from Maven Central"
    mkdir -p "$dir"
    local artifact
    for artifact in "com.google.protobuf:protoc:$PROTOC_VERSION" "io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_PLUGIN_VERSION"; do
      # Maven's own log goes to the terminal only when the fetch fails.
      local out
      out=$(mvn -B -Dstyle.color=never "$MAVEN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="$artifact:exe:$classifier" -DoutputDirectory="$dir" -Dmdep.stripVersion=true 2>&1) \
        || { printf '%s\n' "$out" | tail -n 20 >&2; die "could not fetch $artifact:exe:$classifier"; }
    done
    mv "$dir/protoc-$classifier.exe" "$dir/protoc"
    mv "$dir/protoc-gen-grpc-java-$classifier.exe" "$dir/protoc-gen-grpc-java"
    chmod +x "$dir/protoc" "$dir/protoc-gen-grpc-java"
  fi
  ln -sf "$dir/protoc" "$dir/protoc-gen-grpc-java" "$BIN/"
}

# ---- tools -----------------------------------------------------------------
# BIN holds symlinks to this run's pinned plugins and goes first on PATH, so
# buf.gen.yaml can name them and nothing else installed on the machine is used.
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT

npm_ci_if_stale "$ROOT/scripts/tools"
npm_ci_if_stale "$ROOT/clients/typescript"
ln -sf "$ROOT/clients/typescript/node_modules/.bin/protoc-gen-es" "$BIN/"
go_tools
java_tools
python_venv
[[ -z $SETUP_ONLY ]] || exit 0

# ---- generate --------------------------------------------------------------
# Remove the generated folders first so a message or file dropped from proto/
# disappears from the clients too. Hand-written code lives beside them.
rm -rf clients/go/tutti/v1 \
  clients/typescript/src/gen \
  clients/java/src/main/java/health/tutti/v1 \
  clients/python/src/tutti_client/v1

log "buf generate (Go, TypeScript, Java)"
PATH="$BIN:$PATH" scripts/tools/node_modules/.bin/buf generate --template buf.gen.yaml

log "grpcio-tools (Python)"
PYOUT=$(mktemp -d)
trap 'rm -rf "$BIN" "$PYOUT"' EXIT
clients/python/.venv/bin/python -m grpc_tools.protoc -Iproto \
  --python_out="$PYOUT" --pyi_out="$PYOUT" --grpc_python_out="$PYOUT" \
  proto/tutti/v1/*.proto
# grpcio-tools writes absolute imports of the proto package (`from tutti.v1
# import types_pb2`); inside tutti_client they become relative imports, and the
# message classes get the module name they really live under.
PYPKG=clients/python/src/tutti_client/v1
mkdir -p "$PYPKG"
for f in "$PYOUT"/tutti/v1/*; do
  sed -e 's/^from tutti\.v1 import /from . import /' \
    -e "s/(DESCRIPTOR, 'tutti\.v1\./(DESCRIPTOR, 'tutti_client.v1./" \
    "$f" >"$PYPKG/$(basename "$f")"
done
cat >"$PYPKG/__init__.py" <<'EOF'
# Generated by scripts/gen-clients.sh. DO NOT EDIT!
"""Generated messages (``*_pb2``) and gRPC stubs (``*_pb2_grpc``) for tutti.v1."""
EOF
if grep -rn '^from tutti\.\|^import tutti\.' "$PYPKG"; then
  die "absolute tutti.* imports left in $PYPKG (see above)"
fi

log "done: clients/{go,typescript,java,python} regenerated from proto/"
