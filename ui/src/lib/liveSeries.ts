// Shaping the live snapshots and the history into what the dashboard draws: a rolling window of live
// points (the last 10 minutes, client-side), uPlot's columnar data, and the figures' display strings.
import type { History } from "../bindings/History";
import type { HistoryLatency } from "../bindings/HistoryLatency";
import type { LatencyRow } from "../bindings/LatencyRow";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";

/** Live points kept: ten minutes at one a second. */
export const LIVE_WINDOW_MS = 10 * 60 * 1000;

export interface LivePoint {
  /** Snapshot time, Unix ms. */
  at: number;
  shipped: number;
  apiCalls: number;
  webhooks: number;
  orderP50: number | null;
  orderP95: number | null;
  orderP99: number | null;
  apiP95: number | null;
}

/** uPlot's columnar data: x values (Unix seconds) first, then one array per series. */
export type Columns = [number[], ...(number | null)[][]];

export function orderLatency(s: LiveSnapshot): LatencyRow | undefined {
  return s.latency.find((r) => r.group === "order");
}

/** The slowest endpoint's p95 in the window (what the API alerts look at), null without calls. */
export function slowestApiP95(s: LiveSnapshot): number | null {
  let worst: number | null = null;
  for (const r of s.latency) {
    if (r.group === "api" && r.p95 !== null && (worst === null || r.p95 > worst)) worst = r.p95;
  }
  return worst;
}

export function toPoint(s: LiveSnapshot): LivePoint {
  const order = orderLatency(s);
  return {
    at: s.at_ms,
    shipped: s.throughput.orders_shipped_per_min,
    apiCalls: s.throughput.api_calls_per_min,
    webhooks: s.throughput.webhooks_per_min,
    orderP50: order?.p50 ?? null,
    orderP95: order?.p95 ?? null,
    orderP99: order?.p99 ?? null,
    apiP95: slowestApiP95(s),
  };
}

/** `points` plus the snapshot's point (a repeated snapshot is not added twice), without what fell
 * out of the window. Returns a new array so React sees the change. */
export function pushPoint(points: LivePoint[], s: LiveSnapshot, windowMs = LIVE_WINDOW_MS): LivePoint[] {
  const last = points[points.length - 1];
  if (last && s.at_ms <= last.at) return points;
  const from = s.at_ms - windowMs;
  const kept = points.filter((p) => p.at > from);
  kept.push(toPoint(s));
  return kept;
}

const seconds = (ms: number) => ms / 1000;

export function liveThroughputColumns(points: LivePoint[]): Columns {
  return [points.map((p) => seconds(p.at)), points.map((p) => p.shipped), points.map((p) => p.apiCalls), points.map((p) => p.webhooks)];
}

/** Order latency in seconds (orders take seconds to minutes), the API p95 in seconds too. */
export function liveLatencyColumns(points: LivePoint[]): Columns {
  const s = (v: number | null) => (v === null ? null : v / 1000);
  return [
    points.map((p) => seconds(p.at)),
    points.map((p) => s(p.orderP50)),
    points.map((p) => s(p.orderP95)),
    points.map((p) => s(p.orderP99)),
    points.map((p) => s(p.apiP95)),
  ];
}

export function historyThroughputColumns(h: History): Columns {
  return [h.at_ms.map(seconds), h.throughput.orders_shipped, h.throughput.api_calls, h.throughput.webhooks];
}

export function historyLatencyColumns(h: History): Columns {
  const s = (l: HistoryLatency, key: "p50" | "p95" | "p99") => l[key].map((v) => (v === null ? null : v / 1000));
  return [h.at_ms.map(seconds), s(h.order_latency, "p50"), s(h.order_latency, "p95"), s(h.order_latency, "p99"), s(h.api_latency, "p95")];
}

// Display strings. Missing values are an em dash, never 0: "no data" and "zero" differ.
const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export function formatRate(perMin: number): string {
  return perMin >= 100 ? int.format(perMin) : one.format(perMin);
}

export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined) return "—";
  return `${one.format(share * 100)}%`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${int.format(ms)} ms`;
  if (ms < 60_000) return `${one.format(ms / 1000)} s`;
  if (ms < 3_600_000) return `${one.format(ms / 60_000)} min`;
  return `${one.format(ms / 3_600_000)} h`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  if (bytes < 1024 * 1024) return `${int.format(bytes / 1024)} KB`;
  if (bytes < 1024 ** 3) return `${one.format(bytes / 1024 ** 2)} MB`;
  return `${one.format(bytes / 1024 ** 3)} GB`;
}

/** The offline banner's sentence, or null while every host answers (or when it is not known). */
export function offlineNotice(s: LiveSnapshot | null): string | null {
  if (!s || !s.offline.known || !s.offline.offline) return null;
  const hosts = s.offline.hosts.join(", ");
  const n = s.offline.backlog;
  const jobs = `${int.format(n)} ${n === 1 ? "job waits" : "jobs wait"}`;
  return `Offline: ${hosts} ${s.offline.hosts.length === 1 ? "is" : "are"} not answering. ${jobs} and will run when the connection is back; everything local keeps working.`;
}

/** The jobs in one state (0 when the snapshot has no such row). */
export function stateCount(s: LiveSnapshot, state: string): number {
  return s.queue.by_state.find((c) => c.state === state)?.count ?? 0;
}
