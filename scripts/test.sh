#!/usr/bin/env bash
# Runs every test in the repo: the UI's unit tests, then all crates and the desktop package with a
# throw-away PostgreSQL and an X display (Xvfb), the web console in headless chromium, then the keyring
# tests against a real Secret Service.
# Called by `make test` after scripts/setup.sh test.
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-shot build gains nothing from incremental caches; they only cost disk (set CARGO_INCREMENTAL=1 to keep
# them for repeated local runs).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

echo "== ui: build and unit tests"
npm --prefix ui run --silent build
npm --prefix ui test --silent

echo "== PostgreSQL (throw-away cluster)"
port=${PGTEST_PORT:-55432}
export CREATORFLOW_TEST_PG_URL=$(scripts/pg-test-server.sh start "$port")
trap 'scripts/pg-test-server.sh stop "$port"' EXIT
echo "   $CREATORFLOW_TEST_PG_URL"

echo "== cargo test (all crates and the desktop package, under Xvfb)"
xvfb-run -a --server-args="-screen 0 1280x800x24" cargo test --workspace --locked ${CARGO_TEST_ARGS:-}

echo "== browser E2E: the web console (creatorflow-cli serve) in headless chromium; screenshots in docs/screenshots"
cargo build --locked -p creatorflow-cli
node --test ui/e2e/browser.test.mjs ui/e2e/triage.test.mjs ui/e2e/orders.test.mjs ui/e2e/shops.test.mjs

echo "== desktop E2E: the app in a WebKitGTK window under Xvfb, through tauri-driver; screenshots in docs/screenshots"
cargo build --locked -p creatorflow
xvfb-run -a --server-args="-screen 0 1280x800x24" node --test ui/e2e/desktop.test.mjs

echo "== keyring: the secret store against a real Secret Service (gnome-keyring in a private D-Bus session)"
scripts/keyring-test.sh
