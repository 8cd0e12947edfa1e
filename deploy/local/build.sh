#!/usr/bin/env bash
# Builds bin/passerelle, saying what it does and how far it is: the first
# build compiles every dependency (several minutes on 2 cores), later ones
# take seconds.
#
#   deploy/local/build.sh [OUTPUT]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-bin/passerelle}
cd "$here/../.."
echo "building $out (the first build compiles about 500 packages: 5 to 10 minutes on 2 cores; later builds take seconds)" >&2
start=$SECONDS
go build -v -o "$out" ./cmd/passerelle 2>&1 | "$here/progress.sh" "building $out"
echo "built $out in $((SECONDS - start))s" >&2
