#!/usr/bin/env bash
# Records the README's terminal session: a fresh clone in a neutral place (default ~/course),
# offline, the commands below, each printed as "$ command" and followed by what it printed.
# Paste the output into README.md's ```console block (tests/test_readme_examples.py checks that
# every detail it searches for is true of the first picture, and replays its searches with a
# course model: their results must be what the README shows).
#
#   tools/readme_session.sh [CLONE_DIR]       (the venv: $VENV, default this checkout's .venv)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$HOME/course}
venv=${VENV:-$here/.venv}
[ -e "$dest" ] && { echo "$dest exists: give another folder or remove it" >&2; exit 2; }
git clone -q "$here" "$dest"
ln -s "$venv" "$dest/.venv"     # the same installed packages, under the clone's own name
cd "$dest"
export PATH="$dest/.venv/bin:$PATH" PYTHONPATH="$dest" IMGSEARCH_PROFILE=offline
unset IMGSEARCH_MODEL IMGSEARCH_DEVICE HF_HUB_OFFLINE
# The venv's `imgsearch` script names the venv's real folder in its first line; the module
# is the same command, run by the clone's own python.
imgsearch() { "$dest/.venv/bin/python" -m imgsearch_helpers.cli "$@"; }
run() { printf '$ %s\n' "$*"; eval "$@" 2>&1 || true; }
run imgsearch doctor
run imgsearch search '"a cat"' data/photos
run export IMGSEARCH_MODEL=imgsearch/clipart-clip
run imgsearch index data/gallery
run imgsearch search '"a yellow car"' '"a red house"' data/gallery -k 2
run imgsearch search data/gallery/tree_001.png '"+ autumn"' data/gallery -k 3
run imgsearch similar data/gallery/cat_002.png data/gallery -k 3
run imgsearch search '"a cat"' data/photos -k 3
