#!/usr/bin/env bash
# Regenerates the committed client bindings from proto/ into clients/<lang>/,
# the one command for it (CI runs `--check` in scripts/test-clients.sh and
# fails on drift).
#
#   Go          clients/go/tutti/v1/*.pb.go           buf + protoc-gen-go, protoc-gen-go-grpc
#   TypeScript  clients/typescript/src/gen/**/*_pb.ts buf + protoc-gen-es
#   Python      clients/python/src/tutti_client/v1/   grpcio-tools (protoc + grpc_python bundled)
#
# Java is not here: Maven generates it at build time (protobuf-maven-plugin in
# clients/java/pom.xml, which pins its protoc and protoc-gen-grpc-java), and
# it is not committed. clients/README.md says why.
#
# Every tool is pinned and comes from a package registry (npm, the Go module
# proxy, PyPI); nothing from buf.build's remote plugins or from release
# downloads. Tools and the generated output are cached outside the clone
# (scripts/lib/tool-cache.sh, under ${TUTTI_CACHE:-~/.cache/tutti}): the output
# is keyed by a hash of proto/ and every pin below, so while neither changed a
# run copies the last successful generation instead of running the tools.
# Output is deterministic: same proto/, same pins, same bytes.
#
# Usage: scripts/gen-clients.sh [--check] [--no-cache]
#   (no flag)   writes the generated code into clients/
#   --check     changes nothing; exits 1 and shows the difference if clients/
#               does not hold exactly what proto/ and the pins generate
#   --no-cache  runs the generators even if a cached generation exists
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C
# shellcheck source=scripts/lib/tool-cache.sh
source scripts/lib/tool-cache.sh

# ---- pinned versions -------------------------------------------------------
# buf:               scripts/tools/package.json (@bufbuild/buf)
# protoc-gen-es:     clients/typescript/package.json (same lock as its runtime)
# grpcio-tools:      clients/python/requirements-dev.txt
PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf, = runtime in clients/go/go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2  # google.golang.org/grpc/cmd/protoc-gen-go-grpc

# What the output depends on: the contract, the buf configuration, this script
# (pins and post-processing) and the files that pin the other generators.
# Changing any of them changes the key and so runs the generators again.
gen_inputs() {
  find proto -name '*.proto' | sort
  printf '%s\n' buf.yaml buf.gen.yaml scripts/gen-clients.sh \
    scripts/tools/package-lock.json clients/typescript/package-lock.json \
    clients/python/requirements-dev.txt
}

# The generated folders, relative to the repository (and to a cache entry).
GENERATED=(clients/go/tutti/v1 clients/typescript/src/gen clients/python/src/tutti_client/v1)

QUIET=${GEN_CLIENTS_QUIET:-}
log() { [[ -n $QUIET ]] || printf '  gen-clients: %s\n' "$*" >&2; }
die() { printf 'gen-clients: %s\n' "$*" >&2; exit 1; }

CHECK='' NO_CACHE=''
for arg in "$@"; do
  case $arg in
    --check) CHECK=1 ;;
    --no-cache) NO_CACHE=1 ;;
    *) die "usage: scripts/gen-clients.sh [--check] [--no-cache]" ;;
  esac
done

# ---- tools -----------------------------------------------------------------
GO_TOOLS_CACHE=${GEN_CLIENTS_CACHE:-$TUTTI_CACHE/client-tools}

go_tools() {
  local bin=$GO_TOOLS_CACHE/go-$PROTOC_GEN_GO_VERSION-grpc-$PROTOC_GEN_GO_GRPC_VERSION
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

# BIN holds symlinks to this run's pinned plugins and goes first on PATH, so
# buf.gen.yaml can name them and nothing else installed on the machine is used.
BIN=
setup_tools() {
  BIN=$(mktemp -d)
  tool_node_modules scripts/tools
  tool_node_modules clients/typescript
  ln -sf "$ROOT/clients/typescript/node_modules/.bin/protoc-gen-es" "$BIN/"
  go_tools
  tool_python_venv clients/python/requirements-dev.txt
}
trap '[[ -z $BIN ]] || rm -rf "$BIN"' EXIT

# ---- generate --------------------------------------------------------------
# generate OUT: writes every generated folder under OUT (OUT/clients/...).
# Chained with && because it runs as a cache-entry builder (see tool-cache.sh).
generate() {
  local out=$1 pyout pypkg f
  log "buf generate (Go, TypeScript)" &&
    PATH="$BIN:$PATH" scripts/tools/node_modules/.bin/buf generate --template buf.gen.yaml -o "$out" &&
    log "grpcio-tools (Python)" &&
    pyout=$(mktemp -d) &&
    "$TOOL_VENV/bin/python" -m grpc_tools.protoc -Iproto \
      --python_out="$pyout" --pyi_out="$pyout" --grpc_python_out="$pyout" \
      proto/tutti/v1/*.proto || return 1
  # grpcio-tools writes absolute imports of the proto package (`from tutti.v1
  # import types_pb2`); inside tutti_client they become relative imports, and
  # the message classes get the module name they really live under.
  pypkg=$out/clients/python/src/tutti_client/v1
  mkdir -p "$pypkg" || return 1
  for f in "$pyout"/tutti/v1/*; do
    sed -e 's/^from tutti\.v1 import /from . import /' \
      -e "s/(DESCRIPTOR, 'tutti\.v1\./(DESCRIPTOR, 'tutti_client.v1./" \
      "$f" >"$pypkg/$(basename "$f")" || return 1
  done
  rm -rf "$pyout"
  cat >"$pypkg/__init__.py" <<'EOF' || return 1
# Generated by scripts/gen-clients.sh. DO NOT EDIT!
"""Generated messages (``*_pb2``) and gRPC stubs (``*_pb2_grpc``) for tutti.v1."""
EOF
  if grep -rn '^from tutti\.\|^import tutti\.' "$pypkg"; then
    echo "gen-clients: absolute tutti.* imports left in $pypkg (see above)" >&2
    return 1
  fi
  local dir
  for dir in "${GENERATED[@]}"; do
    [[ -d $out/$dir ]] || { echo "gen-clients: nothing generated into $dir" >&2; return 1; }
  done
}

mapfile -t INPUTS < <(gen_inputs)
KEY=$(tool_cache_key "${INPUTS[@]}")
if [[ -n $NO_CACHE ]]; then
  setup_tools
  SRC=$(mktemp -d)
  trap '[[ -z $BIN ]] || rm -rf "$BIN"; rm -rf "$SRC"' EXIT
  generate "$SRC" || die "generation failed"
elif [[ -f $TUTTI_CACHE/gen/$KEY/.tutti-complete ]]; then
  log "proto/ and the pins are unchanged since generation $KEY; using it (--no-cache runs the generators)"
  tool_cache_entry gen "$KEY" generate
  SRC=$TOOL_CACHE_DIR
else
  setup_tools
  tool_cache_entry gen "$KEY" generate || die "generation failed"
  SRC=$TOOL_CACHE_DIR
fi

if [[ -n $CHECK ]]; then
  drift=
  for dir in "${GENERATED[@]}"; do
    if ! diff -rq -x __pycache__ "$SRC/$dir" "$dir" >/dev/null 2>&1; then drift+=" $dir"; fi
  done
  if [[ -n $drift ]]; then
    echo "generated client code differs from what proto/ and the pins generate" \
      "(- what they generate, + what clients/ holds):" >&2
    for dir in $drift; do
      diff -r -x __pycache__ -u "$SRC/$dir" "$dir" | sed "s|$SRC/|generated/|" | head -n 40 >&2 || true
    done
    die "run scripts/gen-clients.sh and commit the result"
  fi
  log "clients/ matches proto/ (generation $KEY)"
  exit 0
fi

# Replace the generated folders whole so a message or file dropped from proto/
# disappears from the clients too. Hand-written code lives beside them.
for dir in "${GENERATED[@]}"; do
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  cp -R "$SRC/$dir" "$dir"
done
log "done: clients/{go,typescript,python} regenerated from proto/ (Java is generated by Maven at build time)"
