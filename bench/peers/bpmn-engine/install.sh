#!/usr/bin/env bash
# Installs the pinned bpmn-engine outside the repository and prints the
# install folder as the last line of stdout. Safe to run repeatedly: npm ci
# runs only when the package is missing or the lock file has changed.
#
# Usage: bash install.sh
#   then: POLKU_BPMN_ENGINE_DIR="$(bash install.sh | tail -n1)" node run.js SPEC.json
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${POLKU_PEERS_DIR:-$HOME/.cache/polku-peers}/bpmn-engine"
stamp="$dest/.installed-lock.json" # copy of the lock from the last successful npm ci

mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"

if [[ ! -f "$dest/node_modules/bpmn-engine/package.json" ]] \
    || ! cmp -s "$here/package-lock.json" "$stamp"; then
    # npm's progress goes to stderr so that stdout stays the folder path only.
    (cd "$dest" && npm ci --no-audit --no-fund >&2)
    cp "$here/package-lock.json" "$stamp"
fi

echo "$dest"
