#!/usr/bin/env bash
# Builds and launches CreatorFlow Console: the desktop window when a display exists; otherwise the web
# console (`creatorflow-cli serve` on 127.0.0.1:7878), which prints the URL to open.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p creatorflow -p creatorflow-cli
# Cargo puts the binaries under CARGO_TARGET_DIR when the user set one.
bin=${CARGO_TARGET_DIR:-target}/release
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin/creatorflow"
fi
echo "run: no display found (DISPLAY/WAYLAND_DISPLAY unset), so the web console starts instead."
exec "$bin/creatorflow-cli" serve ${CREATORFLOW_SERVE_ARGS:-}
