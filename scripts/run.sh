#!/usr/bin/env bash
# Builds and launches CreatorFlow Console: the desktop window when a display exists; otherwise explains
# what is available headless.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p creatorflow -p creatorflow-cli
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec target/release/creatorflow
fi
echo "run: no display found (DISPLAY/WAYLAND_DISPLAY unset), so the desktop window cannot open."
echo "     Headless status of the local database (creatorflow-cli status):"
exec target/release/creatorflow-cli status
