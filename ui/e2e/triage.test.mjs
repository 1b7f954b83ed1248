// Browser E2E of failed-job triage against `serve`: real failures from the demo shop with injected
// faults, then a bulk retry on a filter (group → preview count → confirm → audit log), a keyboard
// discard with its required reason, and the help overlay. Saves screenshots for docs/screenshots/.
// Run: node --test ui/e2e/  (after building ui/dist and creatorflow-cli; scripts/test.sh does both).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertAccessible, browser, openPage, runCli, screenshot, serve } from "./harness.mjs";

let b;
let demoDir;

/**
 * Waits until the job list says it holds `n` jobs (polling from here: the page's CSP forbids eval).
 * The list is virtualized: the DOM holds the rows on screen (plus a few), not all `n`.
 */
async function listHolds(page, n, errors = []) {
  const counter = page.locator(".tri-list-count");
  const want = `${n.toLocaleString("en-US")} ${n === 1 ? "job" : "jobs"}`;
  for (let i = 0; i < 100; i++) {
    if ((await counter.textContent()) === want) return;
    await page.waitForTimeout(100);
  }
  assert.fail(`the job list says "${await counter.textContent()}", expected "${want}"; page errors: ${errors.map(String)}`);
}
before(async () => {
  b = await browser();
  // The demo shop with half its API calls failing: the pipeline's jobs fail and wait to retry. The
  // demo stops after 10 s, leaving them `retryable` in its database.
  demoDir = mkdtempSync(join(tmpdir(), "cf-e2e-triage-"));
  const faults = JSON.stringify({ default: { error_rate: 0.5, malformed_rate: 0.15 } });
  const demo = await runCli(["demo", "--data-dir", demoDir, "--port", "0", "--orders", "60", "--max-seconds", "10", "--faults", faults]);
  assert.equal(demo.code, 0, demo.output);
});
after(async () => {
  await b?.close();
  if (demoDir) rmSync(demoDir, { recursive: true, force: true });
});

test("triage: groups, bulk retry on a filter with its count, discard by keyboard, audit log", async () => {
  const s = await serve(["--read-only", "--database", `sqlite://${join(demoDir, "demo", "creatorflow-demo.db")}`]);
  try {
    const { page, errors } = await openPage(b);
    await page.goto(`${s.url.replace(/\/$/, "")}/#/triage`);
    const groups = page.getByRole("list", { name: "Failure groups" }).getByRole("button");
    await groups.first().waitFor();
    assert.ok((await groups.count()) >= 1, "the demo's failures form groups");
    await screenshot(page, "web-triage");
    await assertAccessible(page, "web-triage");

    // Pick the biggest group: the job list narrows to it.
    const first = groups.first();
    const count = Number((await first.locator(".tri-count").textContent()).replace(/,/g, ""));
    await first.click();
    await listHolds(page, count, errors);
    const rows = page.locator(".tri-jobs .tri-row");
    const rendered = await rows.count();
    // Only the window is in the DOM: the rows that fit (64 px each, TriageParts' JOB_ROW_HEIGHT) plus
    // 8 overscan rows each side (useVirtualRows), however many jobs the list holds.
    const scroller = page.locator(".tri-jobs-scroll");
    const { clientHeight, scrollHeight } = await scroller.evaluate((el) => ({ clientHeight: el.clientHeight, scrollHeight: el.scrollHeight }));
    assert.ok(rendered > 0 && rendered <= Math.min(count, Math.ceil(clientHeight / 64) + 17), `${rendered} rows rendered of ${count}`);
    const spacer = await page.locator(".tri-jobs-spacer").evaluate((el) => el.offsetHeight);
    assert.equal(spacer, count * 64, "the spacer is as tall as the whole list");
    if (scrollHeight > clientHeight) {
      // Scrolled to the end: the last (oldest) row is rendered and, when the list is longer than the
      // window, the first one is not any more.
      await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
      await page.locator(`.tri-jobs .tri-row[aria-rowindex="${count + 1}"]`).waitFor();
      if (rendered < count) assert.equal(await page.locator('.tri-jobs .tri-row[aria-rowindex="2"]').count(), 0, "the first row left the DOM");
      await scroller.evaluate((el) => (el.scrollTop = 0));
    }

    // Tick every job matching the filters (the header checkbox): every row shows ticked, the bar
    // names the engine's count, and a bulk action goes to the engine as the filter.
    await page.getByRole("checkbox", { name: "Select every job matching the filters" }).check();
    await page.locator(".tri-bulk-label").filter({ hasText: `All ${count} matching selected:` }).waitFor();
    assert.equal(await rows.first().getByRole("checkbox").isChecked(), true);
    assert.equal(await rows.first().getByRole("checkbox").isDisabled(), true);

    // Bulk retry everything matching: the dialog names the previewed count, the action reports it.
    await page.getByRole("button", { name: "Retry all…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    // The demo's biggest group is sometimes a single job: the console says "1 job", not "1 jobs".
    const jobs = `${count.toLocaleString("en-US")} ${count === 1 ? "job" : "jobs"}`;
    assert.match(await dialog.textContent(), new RegExp(`Retry ${jobs}\\?`));
    await screenshot(page, "web-triage-bulk");
    await assertAccessible(page, "web-triage-bulk");
    await dialog.getByRole("button", { name: `Retry ${jobs}`, exact: true }).click();
    await page.getByRole("status").filter({ hasText: `Retry: ${count} of ${jobs} changed` }).waitFor();

    // The audit log records who (the web client), what and how many.
    await page.getByRole("tab", { name: "Audit log" }).click();
    const entry = page.locator(".tri-audit li").first();
    await entry.waitFor();
    const text = await entry.textContent();
    assert.match(text, /web@127\.0\.0\.1/);
    assert.match(text, new RegExp(`job_retry ${jobs}\\b`));
    await page.getByRole("tab", { name: "Failed jobs" }).click();

    // Keyboard: ? shows the help, Esc closes it; j moves, d asks for a reason before discarding.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    // The retried jobs are `available` now: show them too.
    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByRole("checkbox", { name: "available" }).check();
    // Clicking a row (not a field) takes the focus out of the checkbox, where keys are typing.
    await page.locator(".tri-jobs .tri-row").first().locator(".tri-when").click();
    await page.keyboard.press("j");
    await page.keyboard.press("d");
    const discard = page.getByRole("dialog");
    await discard.waitFor();
    const confirm = discard.getByRole("button", { name: "Discard" });
    assert.equal(await confirm.isDisabled(), true, "no reason, no discard");
    await discard.getByRole("textbox").fill("order refunded by the buyer");
    await confirm.click();
    await page.getByRole("status").filter({ hasText: "discard done" }).waitFor();

    assert.deepEqual(errors.map(String), [], "no page errors");
    await page.close();

    // The dark theme, with the audit log open.
    const dark = await openPage(b, { colorScheme: "dark" });
    await dark.page.goto(`${s.url.replace(/\/$/, "")}/#/triage`);
    await dark.page.getByRole("list", { name: "Failure groups" }).getByRole("button").first().waitFor();
    await dark.page.getByRole("tab", { name: "Audit log" }).click();
    await dark.page.locator(".tri-audit li").first().waitFor();
    await screenshot(dark.page, "web-triage-dark");
    await assertAccessible(dark.page, "web-triage-dark");
    assert.deepEqual(dark.errors.map(String), [], "no page errors");
    await dark.page.close();
  } finally {
    await s.stop();
  }
});
