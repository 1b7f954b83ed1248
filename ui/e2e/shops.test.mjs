// Browser E2E of Shops & settings against `serve` in demo mode: connect a shop through the OAuth form
// (a sandbox process plays TikTok; a second tab plays the seller's browser), which lands in the real
// database, not the demo's, while its audit event shows in the demo's audit log too; and the demo shop's fault controls taking TikTok offline (the banner every
// screen shows) and back. Saves screenshots for docs/screenshots/.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { assertAccessible, browser, cli, openPage, runCli, screenshot, serve } from "./harness.mjs";

let b;
let sandbox;
let sandboxUrl;
const appKey = "e2eshopsapp";
const appSecret = "e2e-shops-secret-0123456789";

before(async () => {
  b = await browser();
  sandbox = spawn(cli, ["sandbox", "--port", "0", "--app-key", appKey, "--app-secret", appSecret, "--orders", "3"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  sandboxUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox printed no URL:\n${out}`)), 30_000);
    sandbox.stdout.on("data", (c) => {
      out += c;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    sandbox.on("exit", (code) => reject(new Error(`the sandbox exited with ${code}:\n${out}`)));
  });
});
after(async () => {
  await b?.close();
  sandbox?.kill("SIGINT");
});

test("shops: connect a shop through the OAuth form while the demo runs", async () => {
  const s = await serve();
  try {
    const { page, errors } = await openPage(b);
    await page.goto(`${s.url.replace(/\/$/, "")}/#/shops`);
    const form = page.getByRole("form", { name: "Connect a shop" });
    await form.waitFor();
    // Nothing is sent without a secret; the form says what is missing.
    await form.getByLabel("App key").fill(appKey);
    await form.getByRole("button", { name: "Connect a shop" }).click();
    await page.getByText("Enter the app secret").waitFor();

    await form.getByLabel("App secret").fill(appSecret);
    await form.getByText("Hosts and shipping options").click();
    await form.getByLabel("API host").fill(sandboxUrl);
    await form.getByLabel("Auth host").fill(sandboxUrl);
    await form.getByLabel("Authorization page").fill(`${sandboxUrl}/sandbox/oauth/authorize`);
    await form.getByLabel("Handover method").selectOption("DROP_OFF");
    await form.getByRole("button", { name: "Connect a shop" }).click();

    // The web console's "Open in browser" is a plain link to a new tab that gets no handle on the
    // console's window; "Copy link" stays for a browser on another machine.
    const link = page.getByRole("link", { name: "Open in browser" });
    await link.waitFor();
    assert.equal(await link.getAttribute("target"), "_blank");
    assert.match((await link.getAttribute("rel")) ?? "", /\bnoopener\b/);
    assert.match(await link.getAttribute("href"), /\/sandbox\/oauth\/authorize\?/);
    assert.equal(await page.getByLabel("Authorization link").textContent(), await link.getAttribute("href"));
    await page.getByRole("button", { name: "Copy link" }).waitFor();
    await page.getByText(/Waiting for TikTok to redirect to http:\/\/127\.0\.0\.1:\d+\/callback/).waitFor();
    await screenshot(page, "web-shops-connect");
    await assertAccessible(page, "web-shops-connect");

    // The seller's browser: opens the link, the sandbox redirects to the console's loopback listener.
    const seller = await page.context().newPage();
    await seller.goto(await link.getAttribute("href"));
    await seller.getByText("CreatorFlow received the authorization").waitFor();
    await seller.close();

    await page.getByText(/Connected CreatorFlow Demo Shop \(/).waitFor({ timeout: 20_000 });
    await page.getByText(/restart .*creatorflow-cli serve/i).waitFor();

    // The console shows the demo database: its audit log (reachable with no failed job too) names
    // the connect and who did it.
    await page.goto(`${s.url.replace(/\/$/, "")}/#/triage`);
    const emptyAudit = page.getByRole("button", { name: "Open the audit log" });
    const auditTab = page.getByRole("tab", { name: "Audit log" });
    await openAuditLog(page, emptyAudit, auditTab);
    await page.locator(".tri-audit li").filter({ hasText: "shop_connect" }).filter({ hasText: "CreatorFlow Demo Shop" }).filter({ hasText: "web@127.0.0.1" }).waitFor();
    assert.deepEqual(errors.map(String), []);
    await page.close();

    // Stored in the real database with its secrets; the demo's own database is untouched.
    const listed = await runCli(["--data-dir", s.dataDir, "shop", "list", "--json"], { CREATORFLOW_SECRET_STORE: "file" });
    assert.equal(listed.code, 0, listed.output);
    const shops = JSON.parse(listed.output);
    assert.deepEqual(shops.map((x) => [x.name, x.handover_method]), [["CreatorFlow Demo Shop", "DROP_OFF"]]);
  } finally {
    await s.stop();
  }
});

test("shops: the demo shop's fault controls take TikTok offline and back", async () => {
  const s = await serve();
  try {
    const { page, errors } = await openPage(b);
    await page.goto(`${s.url.replace(/\/$/, "")}/#/shops`);
    const panel = page.getByRole("region", { name: "Demo shop faults" });
    await panel.getByText("The demo shop is healthy.").waitFor();
    await panel.getByRole("button", { name: "Take TikTok offline for 60 s" }).click();
    await panel.getByText(/TikTok offline: 0:[0-9]{2} left/).waitFor();
    // The pipeline notices: its breaker opens and every screen says TikTok is unreachable.
    await page.locator(".banner-offline").waitFor({ timeout: 45_000 });
    // The whole page: the offline banner at the top and the fault controls at the bottom.
    await screenshot(page, "web-shops-faults", { fullPage: true });
    await assertAccessible(page, "web-shops-faults");

    await panel.getByLabel("Calls failing").selectOption("0.2");
    await panel.getByRole("button", { name: "Apply these rates" }).click();
    await panel.getByText(/20 % of calls fail/).waitFor();
    await panel.getByRole("button", { name: "Clear all faults" }).click();
    await panel.getByText("The demo shop is healthy.").waitFor();
    await page.locator(".banner-offline").waitFor({ state: "detached", timeout: 60_000 });
    assert.deepEqual(errors.map(String), []);
    await page.close();
  } finally {
    await s.stop();
  }
});

// The demo keeps running, so a failed job may appear (or its retry clear it) while we look: whichever
// way into the audit log is on screen is the one clicked, until the log is open.
async function openAuditLog(page, emptyAudit, auditTab) {
  const log = page.locator(".tri-audit");
  for (let i = 0; i < 100 && !(await log.isVisible()); i++) {
    const way = (await emptyAudit.isVisible()) ? emptyAudit : (await auditTab.isVisible()) ? auditTab : null;
    if (way) await way.click({ timeout: 1_000 }).catch(() => {});
    else await page.waitForTimeout(100);
  }
  await log.waitFor({ timeout: 1_000 });
}
