// The Orders screen's logic, free of React so it is unit-tested in node: the filters → query mapping,
// row windowing, the paged feed behind the virtualized table, CSV export chunking, label bytes.
import type { Api } from "../api";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderQuery } from "../bindings/OrderQuery";
import type { OrderSummary } from "../bindings/OrderSummary";
import type { PageCursor } from "../bindings/PageCursor";

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

/** The rows to render for a scroll position: `[first, last)` plus `overscan` rows each side. */
export function windowRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 8,
): { first: number; last: number } {
  if (count <= 0 || rowHeight <= 0) return { first: 0, last: 0 };
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + Math.max(viewport, 0)) / rowHeight) + overscan);
  return { first: Math.min(first, last), last };
}

interface Page {
  /** The cursor this page starts after (null: the first page). */
  after: PageCursor | null;
  rows: OrderSummary[] | null;
  /** Rows the page held when it was fetched (kept when its rows are evicted). */
  size: number;
  loading: boolean;
  /** Last time the page was needed on screen, for eviction. */
  used: number;
}

/**
 * The rows behind the virtualized table, fetched page by page on the engine's keyset cursor as the
 * user scrolls. Only pages near the viewport keep their rows (at most `maxPages`); a page scrolled far
 * away drops them and is fetched again from its remembered cursor when it comes back, so a table over a
 * million orders never holds more than a few thousand rows. `onChange` fires when rows arrive.
 */
export class OrderFeed {
  private pages: Page[] = [];
  private done = false;
  private disposed = false;
  private tick = 0;
  error: Error | null = null;

  constructor(
    private readonly fetchPage: (after: PageCursor | null) => Promise<OrderPage>,
    readonly pageSize: number,
    private readonly onChange: () => void,
    private readonly maxPages = 40,
  ) {}

  /** Rows known so far (the table's height); grows as pages arrive. */
  get count(): number {
    let n = 0;
    for (const p of this.pages) n += p.rows ? p.rows.length : p.size;
    return n;
  }

  /** Whether every matching order has been seen (the count is final). */
  get complete(): boolean {
    return this.done;
  }

  /** Whether a page is being fetched. */
  get loading(): boolean {
    return this.pages.some((p) => p.loading);
  }

  /** The row at `index`, or undefined while its page is (re)loading. */
  row(index: number): OrderSummary | undefined {
    const page = this.pages[Math.floor(index / this.pageSize)];
    return page?.rows?.[index % this.pageSize];
  }

  /** Pages whose rows are in memory (for tests and the status line). */
  get loadedPages(): number {
    return this.pages.filter((p) => p.rows !== null).length;
  }

  /** Makes sure rows `[first, last)` are (being) fetched, and the page after them when near the end. */
  ensure(first: number, last: number): void {
    // After a failure nothing is fetched until `retry()`: a dead transport is not hammered on every render.
    if (this.disposed || this.error) return;
    this.tick += 1;
    if (this.pages.length === 0) {
      this.pages.push({ after: null, rows: null, size: 0, loading: false, used: this.tick });
    }
    const lastPage = Math.floor(Math.max(last - 1, first) / this.pageSize);
    for (let k = Math.floor(first / this.pageSize); k <= lastPage && k < this.pages.length; k++) {
      const page = this.pages[k]!;
      page.used = this.tick;
      if (!page.rows && !page.loading) void this.load(k);
    }
    // Near the end of what is known: discover the next page (its cursor is the last page's `next`).
    const tail = this.pages[this.pages.length - 1]!;
    if (!this.done && tail.rows && lastPage >= this.pages.length - 2 && this.nextCursor !== null) {
      this.pages.push({ after: this.nextCursor, rows: null, size: 0, loading: false, used: this.tick });
      this.nextCursor = null;
      void this.load(this.pages.length - 1);
    }
  }

  private nextCursor: PageCursor | null = null;

  /** Forget the feed: answers still in flight are dropped. */
  dispose(): void {
    this.disposed = true;
  }

  /** Fetch the pages that failed again (after an error). */
  retry(): void {
    this.error = null;
    this.onChange();
  }

  private async load(k: number): Promise<void> {
    const page = this.pages[k]!;
    page.loading = true;
    try {
      const result = await this.fetchPage(page.after);
      if (this.disposed) return;
      page.rows = result.orders;
      page.size = result.orders.length;
      if (k === this.pages.length - 1) {
        if (result.next === null) this.done = true;
        else this.nextCursor = result.next;
      }
      this.error = null;
      this.evict();
    } catch (reason) {
      if (this.disposed) return;
      this.error = reason instanceof Error ? reason : new Error(String(reason));
    } finally {
      page.loading = false;
    }
    if (!this.disposed) this.onChange();
  }

  private evict(): void {
    const loaded = this.pages.filter((p) => p.rows !== null && !p.loading);
    if (loaded.length <= this.maxPages) return;
    // The last page keeps its rows: its `next` is what extends the table.
    const tail = this.pages[this.pages.length - 1];
    loaded.sort((a, b) => a.used - b.used);
    for (const p of loaded.slice(0, loaded.length - this.maxPages)) {
      if (p !== tail) p.rows = null;
    }
  }
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
