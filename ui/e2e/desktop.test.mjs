// Desktop E2E: the real app binary (target/debug/creatorflow) in a real WebKitGTK window under Xvfb,
// driven through tauri-driver + WebKitWebDriver. Every screen renders without an error banner and gets
// a screenshot. Run under an X display: `xvfb-run -a node --test ui/e2e/desktop.test.mjs`
// (scripts/test.sh does; it also installs tauri-driver with `cargo install tauri-driver --locked`).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repo, screenshotDir } from "./harness.mjs";
import { WebDriver } from "./webdriver.mjs";

const app = process.env.CREATORFLOW_APP ?? join(repo, "target/debug/creatorflow");
const driverBin =
  process.env.TAURI_DRIVER ?? [join(homedir(), ".cargo/bin/tauri-driver"), "/usr/local/bin/tauri-driver"].find(existsSync) ?? "tauri-driver";

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let driver;
let wd;
let dataDir;
before(async () => {
  assert.ok(process.env.DISPLAY, "needs an X display: run under xvfb-run -a");
  assert.ok(existsSync(app), `${app} is missing: cargo build -p creatorflow`);
  dataDir = mkdtempSync(join(tmpdir(), "cf-desktop-e2e-"));
  const [port, nativePort] = [await freePort(), await freePort()];
  driver = spawn(driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
    // Inherited by WebKitWebDriver and from it by the app.
    env: { ...process.env, WEBKIT_DISABLE_COMPOSITING_MODE: "1", CREATORFLOW_DATA_DIR: dataDir, CREATORFLOW_SECRET_STORE: "file" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  // No browserName: tauri-driver picks the native driver itself and rejects a browser it does not know.
  wd = await WebDriver.connect(`http://127.0.0.1:${port}`, { "tauri:options": { application: app } });
});
after(async () => {
  await wd?.close().catch(() => {});
  driver?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test("the desktop window shows every screen over IPC", async () => {
  const title = await wd.waitFor("h1");
  assert.equal(await wd.text(title), "CreatorFlow Console");
  await wd.waitFor('[role="status"]', { predicate: (t) => t === "Live" });
  const tabs = await wd.findAll('nav[aria-label="Screens"] a');
  assert.ok(tabs.length >= 1);
  const names = [];
  for (const tab of tabs) names.push(await wd.text(tab));
  for (const name of names) {
    const tab = await wd.waitFor('nav[aria-label="Screens"] a', { predicate: (t) => t === name });
    await wd.click(tab);
    await wd.waitFor(`main[aria-label="${name}"]`);
    await new Promise((r) => setTimeout(r, 1500)); // one live refresh
    const alerts = await wd.findAll('[role="alert"]');
    const texts = await Promise.all(alerts.map((a) => wd.text(a)));
    assert.deepEqual(texts, [], `${name} shows an error`);
    await wd.screenshot(join(screenshotDir, `desktop-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.png`));
  }
});
