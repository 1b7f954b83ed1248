#!/usr/bin/env bash
# Runs the keyring tests of crates/tiktok-shop against a REAL Secret Service: a private D-Bus session with
# gnome-keyring-daemon unlocked by a throw-away password. Needs (Debian): dbus, gnome-keyring,
# libsecret-tools (secret-tool, used as an independent reader), libdbus-1-dev and pkg-config (to build).
#
#   scripts/keyring-test.sh            # from the repository root
#
# The tests fail if keyring silently fell back to its in-memory mock (see tests/keyring_store.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
    command -v "$tool" >/dev/null || { echo "keyring-test: $tool not found (apt-get install dbus gnome-keyring libsecret-tools)" >&2; exit 1; }
done

# Build outside the D-Bus session so a long compile is not inside it.
cargo test -p tiktok-shop --test keyring_store --test keyring_unavailable --no-run

# gnome-keyring needs a writable HOME for its keyring files: use a temp one so nothing real is touched.
# Pin cargo's and rustup's homes first: they default to $HOME.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
tmp_home=$(mktemp -d)
trap 'rm -rf "$tmp_home"' EXIT
export HOME="$tmp_home" XDG_DATA_HOME="$tmp_home/.local/share" XDG_RUNTIME_DIR="$tmp_home/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# The daemon forks and registers org.freedesktop.secrets on the bus a moment later: wait for the name
# before testing. A test run that loses the daemon mid-way ("Message recipient disconnected from message
# bus", seen once on a loaded machine) gets one more run with a fresh daemon; a real failure fails twice.
dbus-run-session -- sh -c '
    set -e
    start_keyring() {
        echo "keyring-test-password" | gnome-keyring-daemon --replace --unlock --components=secrets >/dev/null
        for _ in $(seq 50); do
            if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
                return 0
            fi
            sleep 0.1
        done
        echo "keyring-test: the Secret Service did not appear on the session bus" >&2
        return 1
    }
    start_keyring
    if ! REQUIRE_SECRET_TOOL=1 cargo test -p tiktok-shop --test keyring_store -- --ignored --test-threads=1; then
        echo "keyring-test: retrying once with a fresh gnome-keyring-daemon" >&2
        start_keyring
        REQUIRE_SECRET_TOOL=1 cargo test -p tiktok-shop --test keyring_store -- --ignored --test-threads=1
    fi
    cargo test -p tiktok-shop --test keyring_unavailable
'
