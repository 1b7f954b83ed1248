// Browser E2E of the Orders screen against `serve` on a database seeded by `bench orders`: an order is
// found by search as you type, its detail opens, a tracking number is entered, the virtualized table
// keeps only the visible rows in the DOM while scrolling deep, and the CSV export downloads the filter.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertAccessible, browser, openPage, runCli, screenshot, serve } from "./harness.mjs";

let b;
before(async () => {
  b = await browser();
});
after(async () => {
  await b?.close();
});

test("orders: search, detail, manual tracking, deep scroll, CSV export", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cf-e2e-orders-"));
  const seeded = await runCli(["--database", `sqlite://${join(dataDir, "creatorflow.db")}`, "bench", "orders", "--orders", "5000", "--samples", "10"]);
  assert.equal(seeded.code, 0, seeded.output);
  const s = await serve(["--read-only"], {}, dataDir);
  try {
    const { page, errors } = await openPage(b);
    await page.goto(`${s.url}#/orders`);
    const rows = page.locator(".orders-spacer .orders-row");
    await rows.nth(3).waitFor();

    // Search as you type: every word a prefix.
    await page.getByRole("searchbox").fill("maria gar");
    await page.getByText(/^\d+ orders?$/).waitFor();
    const buyers = await rows.locator("[role=gridcell]:nth-child(3)").allTextContents();
    assert.ok(buyers.length > 0 && buyers.every((n) => n === "Maria Garcia"), buyers.join(", "));
    await rows.first().click();
    await page.getByRole("complementary").getByRole("heading", { name: "Ship to" }).waitFor();

    // A seller-shipped order waiting for shipment takes a tracking number.
    await page.getByRole("searchbox").fill("");
    await page.getByLabel("Status").selectOption("AWAITING_SHIPMENT");
    await page.waitForTimeout(600);
    let form = false;
    for (let i = 0; i < 40 && !form; i++) {
      // Wait for this row's order in the pane, not the previous one's (the pane stays up between clicks).
      const id = ((await rows.nth(i).locator("[role=gridcell]").first().textContent()) ?? "").trim();
      await rows.nth(i).click();
      const pane = page.getByRole("complementary");
      if (id) await pane.getByText(id).first().waitFor();
      await pane.getByRole("heading", { name: "Timeline" }).first().waitFor();
      form = (await page.getByRole("heading", { name: "Enter tracking" }).count()) > 0;
    }
    assert.ok(form, "a seller-shipped order offers the tracking form");
    await page.getByRole("textbox", { name: "Tracking number", exact: true }).fill("RM555666777GB");
    await page.getByRole("combobox", { name: "Carrier" }).fill("Royal Mail");
    await page.getByRole("button", { name: "Save tracking" }).click();
    await page.getByText(/Tracking RM555666777GB recorded/).waitFor();
    await page.getByText(/entered by/).first().waitFor();
    await screenshot(page, "web-orders-detail");
    await assertAccessible(page, "web-orders-detail");

    // Deep scroll: rows arrive page by page, the DOM holds only the window.
    await page.getByLabel("Status").selectOption("");
    await page.getByRole("button", { name: "Close order detail" }).click();
    const scroller = page.getByLabel("Order rows: arrow keys move, Enter opens");
    for (let i = 0; i < 25; i++) {
      await scroller.evaluate((el) => (el.scrollTop += 3000));
      await page.waitForTimeout(50);
    }
    await page.waitForTimeout(500);
    assert.ok((await rows.count()) < 60, `only visible rows in the DOM: ${await rows.count()}`);
    assert.match((await page.locator(".orders-count").textContent()) ?? "", /[\d,]+\+? orders/);

    // CSV export of the current filter.
    await page.getByLabel("Status").selectOption("CANCELLED");
    await page.waitForTimeout(600);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const text = readFileSync(await download.path(), "utf8").replace(/^\ufeff/, "");
    const lines = text.trimEnd().split("\r\n");
    assert.ok(lines[0]?.startsWith("order_id,local_id,status,shop,buyer,items"), lines[0]);
    assert.ok(lines.length > 100 && lines.slice(1).every((l) => l.split(",")[2] === "CANCELLED"), `${lines.length} lines`);
    assert.deepEqual(errors, []);
  } finally {
    await s.stop();
  }
});
