import { describe, expect, it } from "vitest";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderQuery } from "../bindings/OrderQuery";
import type { OrderSummary } from "../bindings/OrderSummary";
import type { PageCursor } from "../bindings/PageCursor";
import {
  addressLines,
  base64ToBytes,
  dayToEpoch,
  emptyFilters,
  exportCsv,
  formatAmount,
  shipByHint,
  orderFeed,
  toQuery,
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

describe("orderFeed", () => {
  it("pages the filtered orders on the engine's keyset cursor", async () => {
    const engine = fakeEngine(250, 100);
    const queries: OrderQuery[] = [];
    const api = {
      listOrders: (q: OrderQuery) => {
        queries.push(q);
        return engine.fetchPage(q.after);
      },
    };
    const feed = orderFeed(api, { ...emptyFilters, status: "AWAITING_SHIPMENT" }, 100, () => {});
    feed.ensure(0, 100);
    await settle();
    feed.ensure(100, 250);
    await settle();
    feed.ensure(200, 250);
    await settle();
    expect(feed.complete).toBe(true);
    expect(feed.count).toBe(250);
    expect(feed.row(249)?.id).toBe(249);
    expect(queries.map((q) => q.after)).toEqual([null, { create_time: 1_000_000 - 99, id: 99 }, { create_time: 1_000_000 - 199, id: 199 }]);
    expect(queries.every((q) => q.statuses[0] === "AWAITING_SHIPMENT" && q.limit === 100)).toBe(true);
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

describe("formatAmount", () => {
  it("pads to the currency's minor units without rounding", () => {
    expect(formatAmount("14.4", "GBP")).toBe("14.40 GBP");
    expect(formatAmount("63", "GBP")).toBe("63.00 GBP");
    expect(formatAmount("9.99", "USD")).toBe("9.99 USD");
    expect(formatAmount("1.005", "GBP")).toBe("1.005 GBP");
    expect(formatAmount("1200", "JPY")).toBe("1200 JPY");
    expect(formatAmount("-2.5", "EUR")).toBe("-2.50 EUR");
  });
  it("shows what it cannot read as it came", () => {
    expect(formatAmount("12.3", "NOT_A_CODE")).toBe("12.3 NOT_A_CODE");
    expect(formatAmount("n/a", "GBP")).toBe("n/a GBP");
  });
});
