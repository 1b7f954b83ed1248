// Desktop E2E harness: launches the real app binary through tauri-driver + WebKitWebDriver (one
// tauri-driver per app launch, because the app inherits its environment from the driver) and reads
// the dashboard's live tiles. Shared by the desktop E2E suite and the cold-start benchmark.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { targetDir } from "./harness.mjs";
import { WebDriver } from "./webdriver.mjs";

export const app = process.env.CREATORFLOW_APP ?? join(targetDir, "debug/creatorflow");
export const driverBin =
  process.env.TAURI_DRIVER ?? [join(homedir(), ".cargo/bin/tauri-driver"), "/usr/local/bin/tauri-driver"].find(existsSync) ?? "tauri-driver";

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts tauri-driver with `env` added to this process's environment (inherited by WebKitWebDriver and
 * from it by the app). Resolves once the driver answers `GET /status`: { base, stop() }.
 */
export async function startDriver(env = {}, { timeoutMs = 60_000 } = {}) {
  const [port, nativePort] = [await freePort(), await freePort()];
  const driver = spawn(driverBin, ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, WEBKIT_DISABLE_COMPOSITING_MODE: "1", CREATORFLOW_SECRET_STORE: "file", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // A process group of its own (tauri-driver, WebKitWebDriver, the app), ended as one by `stop`: an
    // app that outlives its session (seen when a session is closed while the app is still starting)
    // would otherwise be orphaned, still holding the pipes below and keeping node from exiting.
    detached: true,
  });
  // Kept, not printed: tauri-driver logs a backtrace for every request WebKitWebDriver is not up for
  // yet (the /status polls below). The tail is in the error when a session does not start.
  let output = "";
  const keep = (c) => (output = (output + c).slice(-20_000));
  driver.stdout.on("data", keep);
  driver.stderr.on("data", keep);
  const exited = new Promise((r) => driver.once("exit", r));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      // The group is gone already.
    }
    if (driver.exitCode === null && driver.signalCode === null) await exited;
    driver.stdout.destroy();
    driver.stderr.destroy();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await fetch(`${base}/status`).then((r) => r.ok, () => false);
    if (up) return { base, stop, output: () => output };
    if (driver.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`tauri-driver (${driverBin}) did not come up on ${base}:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens a WebDriver session on `base`, which launches `binary`. */
export function newSession(base, binary = app) {
  // No browserName: tauri-driver picks the native driver itself and rejects a browser it does not know.
  return WebDriver.connect(base, { "tauri:options": { application: binary } });
}

/**
 * A driver with `env` plus a session (the app running): { wd, stop() }; `stop` closes the session (the
 * app exits) and ends the driver.
 */
export async function launchApp(env = {}, { binary = app } = {}) {
  const driver = await startDriver(env);
  let wd;
  try {
    wd = await newSession(driver.base, binary);
  } catch (e) {
    await driver.stop();
    throw new Error(`${e.message}\ntauri-driver said:\n${driver.output().slice(-4000)}`);
  }
  return {
    wd,
    async stop() {
      await wd.close().catch(() => {});
      await driver.stop();
    },
  };
}

/**
 * The dashboard's stat tiles as { label: value text }, labels in lower case (WebDriver reports text as
 * rendered, and the labels are styled upper-case), or null while they are not rendered (before the
 * first snapshot the dashboard shows a placeholder instead).
 */
export async function readTiles(wd) {
  const tiles = 'dl[aria-label="Live figures"] .tile';
  const [labels, values] = await Promise.all([wd.findAll(`${tiles} dt`), wd.findAll(`${tiles} .tile-value`)]);
  if (labels.length === 0 || labels.length !== values.length) return null;
  const out = {};
  for (let i = 0; i < labels.length; i++) out[(await wd.text(labels[i])).trim().toLowerCase()] = (await wd.text(values[i])).trim();
  return out;
}

/** A tile value that is a real figure ("12.0", "1,204", "35 ms"), not a placeholder ("—", ""). */
export function isFigure(value) {
  return typeof value === "string" && /\d/.test(value);
}
