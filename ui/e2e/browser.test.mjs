// Browser E2E: the web console (`creatorflow-cli serve`) in headless chromium. Every screen renders
// without a page error, passes axe-core in both themes and gets a screenshot; the token rule holds
// off loopback.
// Run: node --test ui/e2e/  (after building ui/dist and creatorflow-cli; scripts/test.sh does both).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { accessibilityViolations, browser, openPage, runCli, screenshot, serve } from "./harness.mjs";

let b;
before(async () => {
  b = await browser();
});
after(async () => {
  await b?.close();
});

test("every screen renders, in light and dark, with no accessibility violation", async () => {
  const s = await serve();
  try {
    const violations = [];
    for (const colorScheme of ["light", "dark"]) {
      const { page, errors } = await openPage(b, { colorScheme });
      await page.goto(s.url);
      const tabs = page.getByRole("navigation", { name: "Screens" }).getByRole("link");
      const names = await tabs.allTextContents();
      assert.ok(names.length >= 1, "the frame shows screen tabs");
      for (const name of names) {
        await tabs.filter({ hasText: name }).click();
        await page.getByRole("main", { name }).waitFor();
        await page.waitForTimeout(1500); // one live refresh
        if (colorScheme === "light") await screenshot(page, `web-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`);
        else if (name === names[0]) await screenshot(page, "web-dark");
        for (const v of await accessibilityViolations(page)) violations.push(`${name} (${colorScheme}): ${v}`);
      }
      assert.deepEqual(errors.map(String), [], "no page errors");
      await page.close();
    }
    assert.deepEqual(violations, [], "axe-core finds no WCAG 2.1 A/AA or best-practice violation");
  } finally {
    await s.stop();
  }
});

test("off loopback the console needs its token", async () => {
  const refused = await runCli(["--data-dir", "/tmp/cf-e2e-refused", "serve", "--addr", "0.0.0.0:0"]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.output, /refusing to serve on 0\.0\.0\.0:0 without an access token/);

  const token = "e2e-token-0123456789abcdef";
  const s = await serve(["--addr", "0.0.0.0:0", "--token", token]);
  try {
    const { page, errors } = await openPage(b);
    const bare = s.url.replace(/\?token=.*$/, "");
    const denied = await page.goto(bare);
    assert.equal(denied.status(), 401);
    assert.match(await page.textContent("body"), /needs its access token/);
    const api = await page.request.get(`${bare}api/overview`);
    assert.equal(api.status(), 401);
    errors.length = 0; // the deliberate 401s above log "failed to load resource"
    await page.goto(s.url); // the printed link: token → cookie → redirect to the bare URL
    assert.equal(page.url(), bare);
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    assert.deepEqual(errors.map(String), []);
    await page.close();
  } finally {
    await s.stop();
  }
});
