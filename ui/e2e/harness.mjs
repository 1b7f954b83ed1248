// Browser E2E harness: starts `creatorflow-cli serve` on a fresh data dir and a free loopback port,
// drives Debian's chromium through playwright-core, and saves screenshots for docs/screenshots/.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");
// Where cargo put the binaries: CARGO_TARGET_DIR (relative to the repo, where test.sh runs cargo) or target/.
export const targetDir = resolve(repo, process.env.CARGO_TARGET_DIR ?? "target");
export const cli = process.env.CREATORFLOW_CLI ?? join(targetDir, "debug/creatorflow-cli");
export const screenshotDir = process.env.SCREENSHOT_DIR ?? join(repo, "docs/screenshots");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Runs `creatorflow-cli serve ARGS` (on `dataDir`, default a fresh one) and resolves once it prints its URL. */
export async function serve(args = [], env = {}, dataDir = mkdtempSync(join(tmpdir(), "cf-e2e-"))) {
  const addr = args.includes("--addr") ? [] : ["--addr", "127.0.0.1:0"];
  const child = spawn(cli, ["--data-dir", dataDir, "serve", ...addr, ...args], {
    env: { ...process.env, CREATORFLOW_SECRET_STORE: "file", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const m = /CreatorFlow Console at (\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c) => (output += c));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing its URL:\n${output}`));
    });
  });
  return {
    url,
    dataDir,
    output: () => output,
    async stop() {
      child.kill("SIGINT");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `creatorflow-cli ARGS` to completion: { code, output }. */
export function runCli(args, env = {}) {
  return new Promise((done) => {
    const child = spawn(cli, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("exit", (code) => done({ code, output }));
  });
}

export async function browser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}

/** A page at 1280×800 that fails the test on any uncaught error in the page. */
export async function openPage(b, { colorScheme = "light" } = {}) {
  const context = await b.newContext({ viewport: { width: 1280, height: 800 }, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => m.type() === "error" && errors.push(new Error(m.text())));
  return { page, errors };
}

/** Saves docs/screenshots/NAME.png: the viewport, or with `{ fullPage: true }` the whole scrolled page. */
export async function screenshot(page, name, { fullPage = false } = {}) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage });
}

const axeSource = readFileSync(join(here, "../node_modules/axe-core/axe.min.js"), "utf8");
const AXE_RULES = { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } };

/**
 * Runs in the page (Playwright passes it as a function, WebDriver as its source): axe-core's
 * violations, each with its offending elements as plain text.
 */
async function runAxeInPage(rules) {
  const result = await window.axe.run(document, rules);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary.replace(/\s+/g, " ")}`),
  }));
}

/** One readable line per violated rule, with its first offending elements. */
function describeViolations(violations) {
  return violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length}×): ${v.help}\n      ${v.nodes.slice(0, 4).join("\n      ")}`);
}

/**
 * Runs axe-core (WCAG 2.1 A and AA, plus its best practices) on what the page shows now and returns one
 * readable line per violated rule with the first offending elements, so `assert.deepEqual(await
 * accessibilityViolations(page), [])` prints what to fix. Injected through CDP, which the console's CSP
 * does not govern.
 */
export async function accessibilityViolations(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  return describeViolations(await page.evaluate(runAxeInPage, AXE_RULES));
}

/**
 * The same check in the desktop window, through WebDriver (`wd` of webdriver.mjs): axe-core goes in
 * as an executed script, which the window's CSP does not govern either.
 */
export async function desktopAccessibilityViolations(wd) {
  if (!(await wd.execute("return 'axe' in window"))) await wd.execute(`${axeSource}\n;return true;`);
  const violations = await wd.executeAsync(
    `const [rules, done] = arguments;
     (${runAxeInPage.toString()})(rules).then(done, (e) => done([{ id: "axe-error", impact: "", help: String(e), nodes: [] }]));`,
    [AXE_RULES],
  );
  return describeViolations(violations);
}

/** Fails with axe-core's findings if what the page shows now has an accessibility violation. */
export async function assertAccessible(page, where) {
  assert.deepEqual(await accessibilityViolations(page), [], `axe-core finds violations on ${where}`);
}
