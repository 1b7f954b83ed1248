// The Orders screen's logic, free of React so it is unit-tested in node: the filters → query mapping,
// the keyset feed behind the virtualized table (lib/feed.ts), CSV export chunking, label bytes.
import type { Api } from "../api";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderQuery } from "../bindings/OrderQuery";
import type { OrderSummary } from "../bindings/OrderSummary";
import type { PageCursor } from "../bindings/PageCursor";
import { KeysetFeed, type FeedPage } from "./feed";

/** What the filter bar holds. Dates are `YYYY-MM-DD` from `<input type="date">` (UTC days). */
export interface OrderFilters {
  search: string;
  status: string; // "" = all
  shop: string; // "" = all (local shop name)
  from: string; // "" = open
  to: string; // "" = open; inclusive day
  atRisk: boolean;
}

export const emptyFilters: OrderFilters = { search: "", status: "", shop: "", from: "", to: "", atRisk: false };

/** `YYYY-MM-DD` as Unix seconds at 00:00 UTC, or null when empty or not a date. */
export function dayToEpoch(day: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** The engine's query for these filters (the `to` day is inclusive: it ends at the next midnight). */
export function toQuery(f: OrderFilters, limit: number, after: PageCursor | null = null): OrderQuery {
  const search = f.search.trim();
  const to = dayToEpoch(f.to);
  return {
    statuses: f.status ? [f.status] : [],
    search: search === "" ? null : search,
    shop: f.shop === "" ? null : f.shop,
    created_from: dayToEpoch(f.from),
    created_to: to === null ? null : to + 86_400,
    at_risk: f.atRisk,
    limit,
    after,
  };
}

/** The feed behind the virtualized table: pages of `pageSize` orders matching `filters`, newest first. */
export function orderFeed(
  api: Pick<Api, "listOrders">,
  filters: OrderFilters,
  pageSize: number,
  onChange: () => void,
): KeysetFeed<OrderSummary, PageCursor> {
  const fetchPage = async (after: PageCursor | null): Promise<FeedPage<OrderSummary, PageCursor>> => {
    const page: OrderPage = await api.listOrders(toQuery(filters, pageSize, after));
    return { rows: page.orders, next: page.next };
  };
  return new KeysetFeed(fetchPage, pageSize, onChange);
}

/**
 * The whole CSV export of `query`, fetched chunk by chunk (the engine reads it in keyset pages) and
 * assembled as Blob parts, so a million-row export never becomes one giant string.
 */
export async function exportCsv(
  api: Pick<Api, "exportOrdersCsv">,
  query: OrderQuery,
  onProgress: (rows: number) => void,
  signal?: AbortSignal,
): Promise<{ blob: Blob; rows: number }> {
  const parts: string[] = [];
  let rows = 0;
  let after: PageCursor | null = null;
  for (;;) {
    if (signal?.aborted) throw new DOMException("export cancelled", "AbortError");
    const chunk = await api.exportOrdersCsv({ ...query, after });
    parts.push(chunk.csv);
    rows += chunk.rows;
    onProgress(rows);
    if (chunk.next === null) break;
    after = chunk.next;
  }
  // A BOM so Excel opens the UTF-8 file with the right encoding.
  return { blob: new Blob(["\ufeff", ...parts], { type: "text/csv;charset=utf-8" }), rows };
}

/** Base64 (the label's transport form) back to bytes. */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const dateTime = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** Unix seconds as a short UTC date and time; "—" for none. */
export function formatTime(secs: number | null | undefined): string {
  return secs === null || secs === undefined ? "—" : `${dateTime.format(new Date(secs * 1000))} UTC`;
}

/** Unix ms as a short UTC date and time. */
export function formatTimeMs(ms: number): string {
  return formatTime(Math.floor(ms / 1000));
}

/** "in 5 h", "3 h late": how far a ship-by time is from now. */
export function shipByHint(shipBy: number | null, nowSecs: number): string {
  if (shipBy === null) return "";
  const h = Math.round((shipBy - nowSecs) / 3600);
  if (h >= 48) return `in ${Math.round(h / 24)} d`;
  if (h >= 0) return `in ${h} h`;
  return -h >= 48 ? `${Math.round(-h / 24)} d late` : `${-h} h late`;
}

/** A TikTok status for display: `AWAITING_SHIPMENT` → `Awaiting shipment`. */
export function statusLabel(status: string): string {
  const s = status.toLowerCase().replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The address lines TikTok's recipient_address carries, in reading order. */
export function addressLines(address: Record<string, unknown> | null): string[] {
  if (!address) return [];
  const text = (k: string) => (typeof address[k] === "string" ? (address[k] as string).trim() : "");
  const lines = [text("name"), text("full_address") || [text("address_line1"), text("address_line2")].filter(Boolean).join(", ")];
  const tail = [text("postal_code"), text("region_code")].filter(Boolean).join(" ");
  if (tail && !lines[1]?.includes(text("postal_code"))) lines.push(tail);
  if (text("phone_number")) lines.push(text("phone_number"));
  return lines.filter(Boolean);
}

/** The largest CSV the engine takes (console/tracking.rs MAX_CSV_BYTES). */
export const MAX_CSV_BYTES = 2 * 1024 * 1024;

/**
 * `14.4` GBP as `14.40 GBP`: the engine's decimal string padded to the currency's minor units (Intl
 * knows them: 2 for GBP, 0 for JPY). String arithmetic only, so no float ever rounds a price; an
 * unknown currency code or a value that is not a plain decimal is shown as it came.
 */
export function formatAmount(amount: string, currency: string): string {
  let digits: number;
  try {
    digits = new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions().minimumFractionDigits ?? 2;
  } catch {
    return `${amount} ${currency}`.trim();
  }
  const m = /^(-?\d+)(?:\.(\d*))?$/.exec(amount.trim());
  if (!m) return `${amount} ${currency}`.trim();
  const fraction = m[2] ?? "";
  const shown = fraction.length >= digits ? fraction : fraction.padEnd(digits, "0");
  return `${m[1]}${shown ? `.${shown}` : ""} ${currency}`;
}
