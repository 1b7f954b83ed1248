#!/usr/bin/env bash
# Builds the UI and the desktop app, opens the real window under Xvfb, captures it as a PNG and exits.
#   scripts/screenshot-desktop.sh [OUT.png]     default: $CARGO_TARGET_DIR/screenshots/desktop-<theme>.png
# Environment:
#   THEME=light|dark          system colour scheme the window sees (GTK_THEME), default light
#   SETTLE_SECONDS=N          wait after the window maps, for the webview to render and poll (default 5)
#   CREATORFLOW_DATA_DIR=dir  data dir the app opens; default a fresh temporary one
#   CREATORFLOW_DATABASE_URL  passed through to the app when set
#   SKIP_BUILD=1              reuse the existing ui/dist and binary
# Needs (Debian): xvfb, x11-utils (xwininfo), imagemagick (import), libwebkit2gtk-4.1-dev to build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
theme=${THEME:-light}
out=${1:-$target/screenshots/desktop-$theme.png}
settle=${SETTLE_SECONDS:-5}
case "$out" in /*) ;; *) out=$root/$out ;; esac
mkdir -p "$(dirname "$out")"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
  CARGO_TARGET_DIR=$target cargo build -p creatorflow
fi
bin=$target/debug/creatorflow
[ -x "$bin" ] || { echo "screenshot-desktop: no binary at $bin (build without SKIP_BUILD=1)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CREATORFLOW_DATA_DIR=${CREATORFLOW_DATA_DIR:-$work/data}
# Software rendering: Xvfb has no GPU, and WebKitGTK's compositing mode renders blank without one.
export WEBKIT_DISABLE_COMPOSITING_MODE=1
if [ "$theme" = dark ]; then export GTK_THEME=Adwaita:dark; else export GTK_THEME=Adwaita; fi

# Runs inside the X server: start the app, wait for its window, let it render, capture the screen.
cat > "$work/capture.sh" <<'INNER'
#!/usr/bin/env bash
set -euo pipefail
bin=$1 out=$2 settle=$3 log=$4
"$bin" >"$log" 2>&1 &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if xwininfo -root -tree 2>/dev/null | grep -q '"CreatorFlow Console"'; then break; fi
  kill -0 "$app" 2>/dev/null || { echo "screenshot-desktop: the app exited before its window opened" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done
xwininfo -root -tree | grep -q '"CreatorFlow Console"' || { echo "screenshot-desktop: no window after 60 s" >&2; cat "$log" >&2; exit 1; }
sleep "$settle"
import -window root "$out"
INNER
chmod +x "$work/capture.sh"
xvfb-run -a -s "-screen 0 1280x800x24" "$work/capture.sh" "$bin" "$out" "$settle" "$work/app.log"
echo "screenshot-desktop: wrote $out"
[ -s "$work/app.log" ] && { echo "--- app log ---"; cat "$work/app.log"; } || true
