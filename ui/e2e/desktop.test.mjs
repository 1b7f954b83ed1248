// Desktop E2E: the real app binary (target/debug/creatorflow) in a real WebKitGTK window under Xvfb,
// driven through tauri-driver + WebKitWebDriver, over the app's IPC (no web server involved):
// 1. on a fresh data dir (the app starts the demo shop) every screen renders without an error banner
//    and gets a screenshot and an axe-core accessibility check, and the dashboard's live figures move;
// 2. the Shops screen's "Open in browser" hands the shop-connect link to the system opener (the
//    opener plugin runs `xdg-open`; a stand-in earlier on the app's PATH records what it was given);
// 3. on a database with real failures (`creatorflow-cli demo` with injected faults), opened read-only,
//    a failed job is retried from the Failed jobs screen (checked in the UI and with the CLI), and an
//    order taken from `orders list --json` is found by search.
// Run under an X display: `xvfb-run -a node --test ui/e2e/desktop.test.mjs` (scripts/test.sh does; it
// also installs tauri-driver with `cargo install tauri-driver --locked`). Every wait polls a predicate:
// the machine running this may be loaded, so nothing assumes how long a step takes.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { app, isFigure, launchApp, readTiles } from "./desktop-harness.mjs";
import { desktopAccessibilityViolations, runCli, screenshotDir } from "./harness.mjs";

const temp = [];
function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

before(() => {
  assert.ok(process.env.DISPLAY, "needs an X display: run under xvfb-run -a");
  assert.ok(existsSync(app), `${app} is missing: cargo build -p creatorflow`);
});
after(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-");

/** Clicks the screen tab `name` and waits for its main region. */
async function openScreen(wd, name) {
  const tab = await wd.waitFor('nav[aria-label="Screens"] a', { predicate: (t) => t === name });
  await wd.click(tab);
  await wd.waitFor(`main[aria-label="${name}"]`);
}

/** The texts of every error banner on screen. */
async function alertTexts(wd) {
  const alerts = await wd.findAll('[role="alert"]');
  return Promise.all(alerts.map((a) => wd.text(a)));
}

/** Runs the CLI and parses its one JSON document. */
async function cliJson(args) {
  const r = await runCli(args);
  assert.equal(r.code, 0, r.output);
  // stderr (warnings) is interleaved in `output`: the document is the part from the first { or [.
  return JSON.parse(r.output.slice(r.output.search(/^[[{]/m)));
}

test("fresh data dir: the demo shop's dashboard moves and every screen renders", async () => {
  const { wd, stop } = await launchApp({ CREATORFLOW_DATA_DIR: tempDir("cf-desktop-e2e-") });
  try {
    const title = await wd.waitFor("h1");
    assert.equal(await wd.text(title), "CreatorFlow Console");
    await wd.waitFor('[role="status"]', { predicate: (t) => t === "Live" });
    await wd.waitFor('[role="note"]', { predicate: (t) => t.startsWith("Demo shop:") });

    // The numbers move: the demo shop's orders go through the pipeline, so within a while the API
    // calls, the shipped orders or the queue depth differ from the first figures on screen.
    const first = await wd.until(async () => {
      const t = await readTiles(wd);
      return t && isFigure(t["api calls / min"]) && t;
    }, { what: "the first live figures" });
    const moving = ["shipped / min", "api calls / min", "queue depth"];
    const later = await wd.until(async () => {
      const t = await readTiles(wd);
      return t && moving.some((k) => isFigure(t[k]) && t[k] !== first[k]) && t;
    }, { timeoutMs: 90_000, what: `a change of ${moving.join(", ")} from ${JSON.stringify(first)}` });
    for (const k of moving) assert.ok(isFigure(later[k]), `${k} shows a figure: ${later[k]}`);

    const tabs = await wd.findAll('nav[aria-label="Screens"] a');
    assert.ok(tabs.length >= 1);
    const names = [];
    for (const tab of tabs) names.push(await wd.text(tab));
    const violations = [];
    for (const name of names) {
      await openScreen(wd, name);
      // Judge the screen once its first data is in: no placeholder still says it is loading.
      await wd.until(async () => {
        const texts = await Promise.all((await wd.findAll("main .placeholder")).map((p) => wd.text(p)));
        return !texts.some((t) => /^(Loading|Waiting|Connecting)/.test(t));
      }, { what: `${name} to load` });
      assert.deepEqual(await alertTexts(wd), [], `${name} shows an error`);
      await wd.screenshot(join(screenshotDir, `desktop-${slug(name)}.png`));
      for (const v of await desktopAccessibilityViolations(wd)) violations.push(`${name}: ${v}`);
    }
    assert.deepEqual(violations, [], "axe-core finds no accessibility violation on any screen of the window");
  } finally {
    await stop();
  }
});

test("connect: Open in browser hands the authorization link to the system browser", async () => {
  // A stand-in for xdg-open (what the opener plugin runs on Linux) that records its arguments instead
  // of starting a browser on the test machine.
  const bin = tempDir("cf-desktop-e2e-opener-");
  const record = join(bin, "opened.txt");
  writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${record}'\n`);
  chmodSync(join(bin, "xdg-open"), 0o755);
  const { wd, stop } = await launchApp({ CREATORFLOW_DATA_DIR: tempDir("cf-desktop-e2e-connect-"), PATH: `${bin}:${process.env.PATH}` });
  try {
    await wd.waitFor('[role="status"]', { predicate: (t) => t === "Live" });
    await openScreen(wd, "Shops & settings");
    await wd.type(await wd.waitFor('form[aria-label="Connect a shop"] input[type="text"]'), "e2eopenerapp");
    await wd.type(await wd.find('form[aria-label="Connect a shop"] input[type="password"]'), "e2e-opener-secret");
    await wd.clickOn('form[aria-label="Connect a shop"] button[type="submit"]');
    const shown = await wd.waitFor('[aria-label="Authorization link"]', { predicate: (t) => t.startsWith("https://") });
    const url = (await wd.property(shown, "textContent")).trim();
    assert.match(url, /^https:\/\/services\.tiktokshop\.com\/open\/authorize\?app_key=e2eopenerapp&/);
    // No link to follow inside the webview: a button, beside "Copy link".
    assert.equal((await wd.findAll(".connect-link a")).length, 0);
    await wd.waitFor(".connect-link button", { predicate: (t) => t === "Copy link" });
    await wd.clickOn(".connect-link button", { predicate: (t) => t === "Open in browser" });
    const opened = await wd.until(async () => existsSync(record) && readFileSync(record, "utf8").trim(), { what: "xdg-open to be run" });
    assert.equal(opened, url, "the system opener got exactly the link on screen");
    assert.deepEqual(await alertTexts(wd), [], "no error after opening the link");
    await wd.clickOn(".connect-actions button", { predicate: (t) => t === "Cancel" });
    await wd.waitFor("main p", { predicate: (t) => t === "The authorization was cancelled." });
  } catch (e) {
    await wd.screenshot(join(tmpdir(), "cf-desktop-e2e-connect-failure.png")).catch(() => {});
    throw e;
  } finally {
    await stop();
  }
});

test("failures: a job is retried from triage, an order is found by search", async () => {
  // The demo shop with half its API calls failing: jobs fail and wait to retry, some are dead-lettered.
  const demoDir = tempDir("cf-desktop-e2e-faults-");
  const faults = JSON.stringify({ default: { error_rate: 0.5, malformed_rate: 0.15 } });
  const demo = await runCli(["demo", "--data-dir", demoDir, "--port", "0", "--orders", "60", "--max-seconds", "10", "--faults", faults]);
  assert.equal(demo.code, 0, demo.output);
  const database = `sqlite://${join(demoDir, "demo", "creatorflow-demo.db")}`;
  const failed = await cliJson(["--database", database, "jobs", "list", "--state", "retryable", "--state", "discarded", "--limit", "1000", "--json"]);
  assert.ok(failed.length > 0, "the faulty demo left failed jobs");
  const { orders } = await cliJson(["--database", database, "orders", "list", "--limit", "500", "--json"]);
  assert.ok(orders.length > 2, `the demo cached orders: ${orders.length}`);

  const { wd, stop } = await launchApp({
    CREATORFLOW_DATA_DIR: tempDir("cf-desktop-e2e-ro-"),
    CREATORFLOW_DATABASE_URL: database,
    CREATORFLOW_NO_PIPELINE: "1",
  });
  let retriedId;
  try {
    await wd.waitFor('[role="status"]', { predicate: (t) => t === "Live" });

    // Triage: the biggest cause narrows the list; its first job's detail offers "Retry now".
    await openScreen(wd, "Failed jobs");
    await wd.clickOn('ul[aria-label="Failure groups"] button');
    await wd.waitFor(".tri-detail-head h3", { predicate: (t) => /^Job #\d+/.test(t) });
    await wd.screenshot(join(screenshotDir, "desktop-triage-failures.png"));
    await wd.clickOn('[aria-label="Actions on this job"] button', { predicate: (t) => t === "Retry now" });
    // The job is the one the dialog names (the detail pane may have moved on to the group's first job
    // between reading it and clicking).
    const dialog = await wd.waitFor('[role="dialog"]', { predicate: (t) => /again now\?/.test(t) });
    retriedId = Number(/job #(\d+) again now\?/.exec(await wd.text(dialog))[1]);
    assert.ok(failed.some((j) => j.id === retriedId), `job #${retriedId} is one of the failed jobs the CLI listed`);
    const [confirm] = (await Promise.all((await wd.findAllIn(dialog, "button")).map(async (b) => [b, await wd.text(b)]))).filter(([, t]) => t === "Retry").map(([b]) => b);
    assert.ok(confirm, "the dialog has a Retry button");
    await wd.click(confirm);
    await wd.waitFor('.tri-notice[role="status"]', { predicate: (t) => t.startsWith(`Job #${retriedId}: retry done.`) });
    // The list of failed jobs (retryable and discarded by default) no longer holds it.
    await wd.until(async () => {
      const rows = await wd.findAll(".tri-jobs .tri-row .tri-job-line");
      const texts = await Promise.all(rows.map((r) => wd.text(r)));
      return !texts.some((t) => t.startsWith(`#${retriedId} `));
    }, { what: `job #${retriedId} to leave the failed list` });
    assert.deepEqual(await alertTexts(wd), [], "triage shows no error");

    // Orders: an order from the middle of the list (not simply the newest) is found by its id.
    const order = orders[Math.floor(orders.length / 2)];
    await openScreen(wd, "Orders");
    const search = await wd.waitFor('input[type="search"]');
    await wd.waitFor(".orders-spacer .orders-row:not(.orders-row-pending)");
    await wd.type(search, order.tts_order_id);
    let shownIds = [];
    await wd.until(async () => {
      const rows = await wd.findAll(".orders-spacer .orders-row:not(.orders-row-pending) [role=gridcell]:first-child");
      shownIds = await Promise.all(rows.map(async (r) => (await wd.property(r, "textContent")).trim()));
      return shownIds.length === 1 && shownIds[0] === order.tts_order_id;
    }, { what: `the search for ${order.tts_order_id} to show only that order`, detail: () => `rows: ${JSON.stringify(shownIds)}` });
    await wd.waitFor(".orders-count", { predicate: (t) => t === "1 order" });
    await wd.clickOn(".orders-spacer .orders-row:not(.orders-row-pending)");
    await wd.waitFor(`aside[aria-label="Order ${order.tts_order_id}"] h3`, { predicate: (t) => t.toLowerCase() === "ship to" });
    const pane = await wd.find(`aside[aria-label="Order ${order.tts_order_id}"]`);
    const paneText = await wd.property(pane, "textContent");
    if (order.buyer_name) assert.ok(paneText.includes(order.buyer_name), `the detail names the buyer ${order.buyer_name}`);
    assert.deepEqual(await alertTexts(wd), [], "orders shows no error");
    await wd.screenshot(join(screenshotDir, "desktop-orders-search.png"));
  } catch (e) {
    // What the window showed when it failed, for whoever reads the failure.
    await wd.screenshot(join(tmpdir(), "cf-desktop-e2e-failure.png")).catch(() => {});
    throw e;
  } finally {
    await stop();
  }

  // The retry is in the database: the job runs again and the audit trail names who did it (the
  // desktop acts as the OS user).
  const actor = ["USER", "LOGNAME", "USERNAME"].map((k) => process.env[k]?.trim()).find(Boolean) ?? "desktop";
  const shown = await cliJson(["--database", database, "jobs", "show", String(retriedId), "--json"]);
  assert.equal(shown.job.state, "available", JSON.stringify(shown.job));
  assert.ok(
    shown.audit.some((a) => a.action === "job_retry" && a.actor === actor),
    `an audit event for the retry: ${JSON.stringify(shown.audit)}`,
  );
});
