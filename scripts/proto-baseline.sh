#!/usr/bin/env bash
# Records the current tutti.v1 contract as the baseline that `buf breaking`
# guards. Run it only when a release of the API is cut; a breaking change after
# that means a new package (tutti.v2) served beside v1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/tool-cache.sh
source scripts/lib/tool-cache.sh
tool_node_modules scripts/tools
mkdir -p proto/baseline
scripts/tools/node_modules/.bin/buf build -o proto/baseline/tutti-v1.binpb
echo "wrote proto/baseline/tutti-v1.binpb"
