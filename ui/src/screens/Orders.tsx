// Orders: offline review of the local cache. Search as you type (debounced) with status, shop, date
// and at-risk filters; a virtualized table (only the visible rows are in the DOM, pages fetched on the
// keyset cursor as you scroll, far pages dropped) that stays smooth at a million orders; the order's
// detail pane; CSV import of tracking numbers and CSV export of the current filter. Nothing here needs
// the network: every call reads or writes the local database.
import { memo, useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { Api } from "../api";
import { toApiError } from "../api/transport";
import type { ApiError } from "../api";
import type { CsvImportReport } from "../bindings/CsvImportReport";
import type { OrderFacets } from "../bindings/OrderFacets";
import type { OrderSummary } from "../bindings/OrderSummary";
import { ErrorNote } from "../components/ErrorNote";
import { OrderDetailPane } from "../components/OrderDetailPane";
import {
  MAX_CSV_BYTES,
  emptyFilters,
  exportCsv,
  formatAmount,
  formatTime,
  orderFeed,
  shipByHint,
  statusLabel,
  toQuery,
  type OrderFilters,
} from "../lib/orders";
import { useVirtualRows } from "../lib/useVirtualRows";

const ROW_HEIGHT = 40;
const PAGE_SIZE = 200;
const SEARCH_DEBOUNCE_MS = 200;
/** Statuses offered even before any order has them. */
const KNOWN_STATUSES = ["UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED"];

const number = new Intl.NumberFormat("en-GB");

export function Orders({ api }: { api: Api }) {
  const [filters, setFilters] = useState<OrderFilters>(emptyFilters);
  const [searchInput, setSearchInput] = useState("");
  const [facets, setFacets] = useState<OrderFacets | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [cursor, setCursor] = useState(0);
  const [report, setReport] = useState<CsvImportReport | null>(null);
  const [notice, setNotice] = useState<{ error: ApiError | null; text: string } | null>(null);
  const [exporting, setExporting] = useState<{ rows: number; abort: AbortController } | null>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const searchBox = useRef<HTMLInputElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // Search as you type, without a query per keystroke.
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => (f.search === searchInput ? f : { ...f, search: searchInput })), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [searchInput]);

  const loadFacets = useCallback(() => {
    api.orderFacets().then(setFacets, () => setFacets(null));
  }, [api]);
  useEffect(loadFacets, [loadFacets]);

  const filterKey = JSON.stringify(filters);
  const feed = useMemo(
    () => orderFeed(api, filters, PAGE_SIZE, rerender),
    // Keyed on the filters' value (JSON), not the object: an equal filter keeps the feed and its pages.
    [api, filterKey],
  );
  const count = feed.count;
  // One row more than known while more may come: the "Loading more…" row.
  const virtual = useVirtualRows(count + (feed.complete ? 0 : 1), ROW_HEIGHT);
  const { first, last } = virtual;
  useEffect(() => {
    // A new filter starts at the top.
    setCursor(0);
    virtual.reset();
    return () => feed.dispose();
  }, [feed, virtual.reset]);
  useEffect(() => {
    feed.ensure(first, Math.max(last, 1));
  });

  const pick = useCallback((i: number, id: number) => {
    setCursor(i);
    setSelected(id);
  }, []);
  const moveTo = (i: number) => {
    const target = Math.max(0, Math.min(i, Math.max(count - 1, 0)));
    setCursor(target);
    virtual.scrollToRow(target);
  };
  const onGridKey = (e: React.KeyboardEvent) => {
    const page = virtual.pageRows;
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, j: 1, k: -1 };
    if (e.key in moves) {
      e.preventDefault();
      moveTo(cursor + moves[e.key]!);
    } else if (e.key === "Home") {
      e.preventDefault();
      moveTo(0);
    } else if (e.key === "Enter") {
      const row = feed.row(cursor);
      if (row) setSelected(row.id);
    }
  };

  // "/" jumps to the search box from anywhere on the screen.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key !== "/" || (t && ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
      e.preventDefault();
      searchBox.current?.focus();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const set = <K extends keyof OrderFilters>(key: K, value: OrderFilters[K]) => setFilters((f) => ({ ...f, [key]: value }));
  const clear = () => {
    setSearchInput("");
    setFilters(emptyFilters);
  };

  const onImport = async (file: File | undefined) => {
    if (fileInput.current) fileInput.current.value = "";
    if (!file) return;
    if (file.size > MAX_CSV_BYTES) {
      setNotice({ error: null, text: `${file.name} is ${number.format(file.size)} bytes; the limit is 2 MiB (about 20,000 lines). Split the file.` });
      return;
    }
    setNotice({ error: null, text: `Importing ${file.name}…` });
    try {
      const r = await api.importTrackingCsv(await file.text());
      setReport(r);
      setNotice(null);
      rerender();
    } catch (reason) {
      setNotice({ error: toApiError(reason, "ui"), text: `Importing ${file.name} failed` });
    }
  };

  const onExport = async () => {
    if (exporting) {
      exporting.abort.abort();
      return;
    }
    const abort = new AbortController();
    setExporting({ rows: 0, abort });
    try {
      const { blob, rows } = await exportCsv(api, toQuery(filters, PAGE_SIZE), (n) => setExporting({ rows: n, abort }), abort.signal);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `orders-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setNotice({ error: null, text: `Exported ${number.format(rows)} ${rows === 1 ? "order" : "orders"} to ${a.download}.` });
    } catch (reason) {
      if (!abort.signal.aborted) setNotice({ error: toApiError(reason, "ui"), text: "The export failed" });
      else setNotice({ error: null, text: "Export cancelled." });
    } finally {
      setExporting(null);
    }
  };

  const statuses = facets?.statuses.length ? facets.statuses.map((s) => s.status) : KNOWN_STATUSES;
  const countOf = (status: string) => facets?.statuses.find((s) => s.status === status)?.count;
  // To the minute, so a row's props stay equal between scroll frames and React skips it (ship-by
  // hints are in hours).
  const now = Math.floor(Date.now() / 60_000) * 60;
  const rows = [];
  for (let i = first; i < last; i++) {
    const o = feed.row(i);
    if (!o) {
      rows.push(
        <div key={`p${i}`} className="orders-row orders-row-pending" role="row" aria-rowindex={i + 2} style={{ top: i * ROW_HEIGHT }}>
          <span role="gridcell" className="muted">{i < count ? "Loading…" : feed.loading ? "Loading more…" : ""}</span>
        </div>,
      );
      continue;
    }
    rows.push(<OrderRow key={o.id} order={o} index={i} selected={o.id === selected} cursor={i === cursor} now={now} onPick={pick} />);
  }

  return (
    <div className="orders">
      <section className="orders-toolbar" aria-label="Order filters">
        <label className="orders-search">
          <span className="visually-hidden">Search orders</span>
          <input
            ref={searchBox}
            type="search"
            value={searchInput}
            onChange={(e) => setSearchInput(e.target.value)}
            placeholder="Search order id, buyer, SKU, tracking…  ( / )"
            aria-label="Search orders by order id, buyer, product, SKU or tracking number"
            autoComplete="off"
          />
        </label>
        <label>
          <span className="visually-hidden">Status</span>
          <select aria-label="Status" value={filters.status} onChange={(e) => set("status", e.target.value)}>
            <option value="">All statuses{facets ? ` (${number.format(facets.total)})` : ""}</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
                {countOf(s) !== undefined ? ` (${number.format(countOf(s)!)})` : ""}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="visually-hidden">Shop</span>
          <select aria-label="Shop" value={filters.shop} onChange={(e) => set("shop", e.target.value)}>
            <option value="">All shops</option>
            {facets?.shops.map((s) => (
              <option key={s.id} value={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
        <label className="orders-date">
          From
          <input type="date" aria-label="Created from (UTC day)" value={filters.from} onChange={(e) => set("from", e.target.value)} />
        </label>
        <label className="orders-date">
          To
          <input type="date" aria-label="Created until (UTC day, inclusive)" value={filters.to} onChange={(e) => set("to", e.target.value)} />
        </label>
        <label className="orders-check">
          <input type="checkbox" checked={filters.atRisk} onChange={(e) => set("atRisk", e.target.checked)} />
          At risk
        </label>
        <button type="button" className="btn btn-quiet" onClick={clear}>Clear</button>
        <span className="orders-actions">
          <button type="button" className="btn" onClick={() => fileInput.current?.click()} title="CSV with the header order_id,tracking_number,provider">
            Import tracking CSV
          </button>
          <input ref={fileInput} type="file" accept=".csv,text/csv" hidden aria-label="Tracking CSV file" onChange={(e) => void onImport(e.target.files?.[0])} />
          <button type="button" className="btn" onClick={() => void onExport()} aria-live="polite">
            {exporting ? `Cancel export (${number.format(exporting.rows)})` : "Export CSV"}
          </button>
        </span>
      </section>

      {notice && (
        <div className={notice.error ? "error" : "notice notice-bar"} role={notice.error ? "alert" : "status"}>
          <p className={notice.error ? "error-title" : undefined}>
            {notice.text}
            {notice.error && <code className="error-kind">{notice.error.kind}</code>}
          </p>
          {notice.error && <p className="error-message">{notice.error.message}</p>}
          <button type="button" className="btn btn-quiet" onClick={() => setNotice(null)}>Dismiss</button>
        </div>
      )}
      {report && <ImportReport report={report} onClose={() => setReport(null)} />}
      <ErrorNote error={feed.error && toApiError(feed.error, "ui")} title="Loading orders failed">
        <button type="button" className="btn" onClick={() => feed.retry()}>Retry</button>
      </ErrorNote>

      <div className={selected === null ? "orders-main" : "orders-main orders-main-split"}>
        <section className="panel orders-table" aria-label="Orders">
          <p className="orders-count" role="status">
            {count === 0 && feed.complete
              ? "No orders match these filters."
              : feed.complete
                ? `${number.format(count)} ${count === 1 ? "order" : "orders"}`
                : `${number.format(count)}+ orders, newest first — more load as you scroll`}
          </p>
          <div className="orders-grid" role="grid" aria-label="Orders, newest first" aria-rowcount={feed.complete ? count + 1 : -1}>
            <div className="orders-row orders-head" role="row" aria-rowindex={1}>
              {["Order", "Status", "Buyer", "Total", "Created (UTC)", "Ship by"].map((h) => (
                <span key={h} role="columnheader" className={h === "Total" ? "num" : undefined}>{h}</span>
              ))}
            </div>
            {/* The focusable scroller is the grid's row group (a labelled plain div may not sit between
                grid and rows); the spacer that gives it its scroll height is presentational. */}
            <div
              ref={virtual.scrollerRef}
              className="orders-scroll"
              role="rowgroup"
              tabIndex={0}
              onScroll={virtual.onScroll}
              onKeyDown={onGridKey}
              aria-label="Order rows: arrow keys move, Enter opens"
            >
              <div className="orders-spacer" role="none" style={{ height: (count + (feed.complete ? 0 : 1)) * ROW_HEIGHT }}>
                {rows}
              </div>
            </div>
          </div>
        </section>
        {selected !== null && (
          <OrderDetailPane
            api={api}
            orderId={selected}
            onClose={() => setSelected(null)}
            onChanged={() => {
              loadFacets();
              rerender();
            }}
          />
        )}
      </div>
    </div>
  );
}

/**
 * One order row, memoized: while scrolling, rows that stay in the window keep equal props and React
 * skips them, so a frame renders only the rows that scrolled in.
 */
const OrderRow = memo(function OrderRow(props: {
  order: OrderSummary;
  index: number;
  selected: boolean;
  cursor: boolean;
  now: number;
  onPick: (index: number, id: number) => void;
}) {
  const { order: o, index: i, selected, cursor, now, onPick } = props;
  const cls = ["orders-row", selected ? "orders-row-selected" : "", cursor ? "orders-row-cursor" : ""].join(" ");
  return (
    <div className={cls} role="row" aria-rowindex={i + 2} aria-selected={selected} style={{ top: i * ROW_HEIGHT }} onClick={() => onPick(i, o.id)}>
      <span role="gridcell" className="mono">{o.tts_order_id}</span>
      <span role="gridcell"><span className={`pill status-${o.status.toLowerCase()}`}>{statusLabel(o.status)}</span></span>
      <span role="gridcell" className="ellipsis" title={o.buyer_name}>{o.buyer_name || "—"}</span>
      <span role="gridcell" className="num">{formatAmount(o.total_amount, o.currency)}</span>
      <span role="gridcell" className="muted">{formatTime(o.create_time).replace(" UTC", "")}</span>
      <span role="gridcell" className={o.at_risk ? "risk" : "muted"} title={formatTime(o.ship_by_time)}>
        {o.awaiting_shipment ? shipByHint(o.ship_by_time, now) : "—"}
        {o.at_risk && <span className="visually-hidden"> (at risk)</span>}
      </span>
    </div>
  );
});

function ImportReport({ report, onClose }: { report: CsvImportReport; onClose: () => void }) {
  const notApplied = report.lines.filter((l) => l.outcome !== "applied");
  return (
    <section className="panel import-report" aria-labelledby="import-heading">
      <div className="panel-head">
        <h2 id="import-heading">Tracking import</h2>
        <p className="panel-note">
          {number.format(report.applied)} applied · {number.format(report.unchanged)} unchanged · {number.format(report.skipped)} skipped
        </p>
        <button type="button" className="btn btn-quiet" onClick={onClose}>Close</button>
      </div>
      {notApplied.length > 0 && (
        <div className="import-lines">
          <table className="queue-table">
            <thead>
              <tr><th scope="col">Line</th><th scope="col">Order</th><th scope="col">Tracking</th><th scope="col">Outcome</th><th scope="col">Reason</th></tr>
            </thead>
            <tbody>
              {notApplied.slice(0, 500).map((l) => (
                <tr key={l.line}>
                  <td className="num">{l.line}</td>
                  <td className="mono">{l.order || "—"}</td>
                  <td className="mono">{l.tracking_number || "—"}</td>
                  <td className={l.outcome === "skipped" ? "state-discarded" : undefined}>{l.outcome}</td>
                  <td className="wrap">{l.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {notApplied.length > 500 && <p className="placeholder">…and {number.format(notApplied.length - 500)} more lines not applied.</p>}
        </div>
      )}
    </section>
  );
}
