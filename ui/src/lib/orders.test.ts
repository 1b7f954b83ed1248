import { describe, expect, it } from "vitest";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderSummary } from "../bindings/OrderSummary";
import type { PageCursor } from "../bindings/PageCursor";
import {
  OrderFeed,
  addressLines,
  base64ToBytes,
  dayToEpoch,
  emptyFilters,
  exportCsv,
  shipByHint,
  toQuery,
  windowRange,
} from "./orders";

function summary(id: number): OrderSummary {
  return {
    id,
    creator_id: 1,
    shop_id: 1,
    tts_order_id: `57${String(id).padStart(16, "0")}`,
    status: "AWAITING_SHIPMENT",
    create_time: 1_000_000 - id,
    update_time: 1_000_000 - id,
    paid_time: null,
    buyer_name: `Buyer ${id}`,
    shipping_type: "SELLER",
    rts_sla_time: null,
    shipping_due_time: null,
    ship_by_time: null,
    total_amount: "9.99",
    currency: "GBP",
    awaiting_shipment: true,
    at_risk: false,
    synced_at: 0,
  };
}

/** A fake engine with `total` orders, ids 0.., served in keyset pages like the store does. */
function fakeEngine(total: number, pageSize: number) {
  const calls: Array<PageCursor | null> = [];
  const fetchPage = async (after: PageCursor | null): Promise<OrderPage> => {
    calls.push(after);
    const start = after === null ? 0 : after.id + 1;
    const orders = Array.from({ length: Math.max(0, Math.min(pageSize, total - start)) }, (_, i) => summary(start + i));
    const last = orders[orders.length - 1];
    const next = start + pageSize < total && last ? { create_time: last.create_time, id: last.id } : null;
    return { orders, next };
  };
  return { calls, fetchPage };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("filters", () => {
  it("maps to the engine's query with an inclusive end day and trimmed search", () => {
    const q = toQuery({ ...emptyFilters, search: "  maria ", status: "AWAITING_SHIPMENT", from: "2026-01-01", to: "2026-01-31" }, 100);
    expect(q).toEqual({
      statuses: ["AWAITING_SHIPMENT"],
      search: "maria",
      shop: null,
      created_from: 1_767_225_600,
      created_to: 1_767_225_600 + 31 * 86_400,
      at_risk: false,
      limit: 100,
      after: null,
    });
    expect(toQuery(emptyFilters, 50).search).toBeNull();
    expect(dayToEpoch("2026-13-01")).toBeNull();
    expect(dayToEpoch("")).toBeNull();
  });
});

describe("windowRange", () => {
  it("renders only what is visible plus overscan, clamped to the rows", () => {
    expect(windowRange(0, 400, 40, 1_000_000, 5)).toEqual({ first: 0, last: 15 });
    expect(windowRange(40 * 500_000, 400, 40, 1_000_000, 5)).toEqual({ first: 499_995, last: 500_015 });
    expect(windowRange(40 * 999_990, 800, 40, 1_000_000, 5)).toEqual({ first: 999_985, last: 1_000_000 });
    expect(windowRange(0, 400, 40, 0)).toEqual({ first: 0, last: 0 });
  });
});

describe("OrderFeed", () => {
  it("fetches pages on the keyset cursor as the window moves, never everything", async () => {
    const engine = fakeEngine(1_000_000, 100);
    let changes = 0;
    const feed = new OrderFeed(engine.fetchPage, 100, () => changes++, 5);
    feed.ensure(0, 30);
    await settle();
    expect(feed.row(0)?.id).toBe(0);
    expect(feed.complete).toBe(false);
    // Scrolling down discovers pages one after another, each after the previous page's last row.
    for (let k = 1; k < 12; k++) {
      feed.ensure(k * 100 - 30, k * 100);
      await settle();
    }
    expect(feed.count).toBe(1200);
    expect(engine.calls.slice(0, 3)).toEqual([null, { create_time: 1_000_000 - 99, id: 99 }, { create_time: 1_000_000 - 199, id: 199 }]);
    // Only the most recently used pages keep rows; far pages drop them ...
    expect(feed.loadedPages).toBeLessThanOrEqual(6);
    expect(feed.row(5)).toBeUndefined();
    // ... and scrolling back fetches them again from their remembered cursor.
    const before = engine.calls.length;
    feed.ensure(0, 30);
    await settle();
    expect(feed.row(5)?.id).toBe(5);
    expect(engine.calls[before]).toBeNull();
    expect(changes).toBeGreaterThan(0);
  });

  it("knows when the list is complete and stops after an error until retried", async () => {
    const engine = fakeEngine(150, 100);
    const feed = new OrderFeed(engine.fetchPage, 100, () => {});
    feed.ensure(0, 50);
    await settle();
    feed.ensure(50, 100);
    await settle();
    expect(feed.count).toBe(150);
    expect(feed.complete).toBe(true);

    let fail = true;
    const flaky = new OrderFeed(async (after) => {
      if (fail) throw new Error("engine unavailable");
      return engine.fetchPage(after);
    }, 100, () => {});
    flaky.ensure(0, 10);
    await settle();
    expect(flaky.error?.message).toBe("engine unavailable");
    fail = false;
    flaky.ensure(0, 10); // ignored until retry
    await settle();
    expect(flaky.row(0)).toBeUndefined();
    flaky.retry();
    flaky.ensure(0, 10);
    await settle();
    expect(flaky.row(0)?.id).toBe(0);
  });

  it("drops answers that arrive after it was disposed (the filters changed)", async () => {
    const engine = fakeEngine(10, 100);
    let changes = 0;
    const feed = new OrderFeed(engine.fetchPage, 100, () => changes++);
    feed.ensure(0, 10);
    feed.dispose();
    await settle();
    expect(feed.row(0)).toBeUndefined();
    expect(changes).toBe(0);
  });
});

describe("exportCsv", () => {
  it("follows the chunk cursor to the end and assembles one file with a BOM", async () => {
    const seen: Array<PageCursor | null> = [];
    const api = {
      exportOrdersCsv: async (q: { after: PageCursor | null }) => {
        seen.push(q.after);
        return q.after === null
          ? { csv: "order_id\r\n1\r\n", rows: 1, next: { create_time: 5, id: 1 } }
          : { csv: "2\r\n", rows: 1, next: null };
      },
    };
    const progress: number[] = [];
    const { blob, rows } = await exportCsv(api, toQuery(emptyFilters, 100), (n) => progress.push(n));
    expect(rows).toBe(2);
    expect(progress).toEqual([1, 2]);
    expect(seen).toEqual([null, { create_time: 5, id: 1 }]);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect(Array.from(bytes.slice(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder().decode(bytes.slice(3))).toBe("order_id\r\n1\r\n2\r\n");
  });
});

describe("helpers", () => {
  it("decodes label bytes, phrases ship-by times and reads addresses", () => {
    expect(Array.from(base64ToBytes("JVBERi0="))).toEqual([0x25, 0x50, 0x44, 0x46, 0x2d]);
    expect(shipByHint(1000 + 5 * 3600, 1000)).toBe("in 5 h");
    expect(shipByHint(1000 - 3 * 3600, 1000)).toBe("3 h late");
    expect(shipByHint(1000 + 72 * 3600, 1000)).toBe("in 3 d");
    expect(shipByHint(null, 1000)).toBe("");
    expect(addressLines({ name: "Alex", full_address: "1 Main St, London", postal_code: "N1 1AA", phone_number: "+44 1" })).toEqual([
      "Alex",
      "1 Main St, London",
      "N1 1AA",
      "+44 1",
    ]);
    expect(addressLines(null)).toEqual([]);
  });
});
