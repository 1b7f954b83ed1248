// A realistic LiveSnapshot for unit tests (the shape the engine sends while the demo shop runs).
import type { LiveSnapshot } from "../bindings/LiveSnapshot";

export function snapshot(overrides: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    at_ms: 1_767_225_600_000,
    source: "in_process",
    demo: true,
    window_ms: 60_000,
    throughput: { orders_shipped_per_min: 42, api_calls_per_min: 180.4, webhooks_per_min: 0 },
    latency: [
      { group: "order", label: "order to fulfillment", count: 42, p50: 1500, p95: 4200, p99: 9000, max: 12000 },
      { group: "stage_run", label: "ship", count: 42, p50: 30, p95: 80, p99: 120, max: 150 },
      { group: "api", label: "GET /order/202309/orders", count: 60, p50: 40, p95: 310, p99: 500, max: 800 },
      { group: "api", label: "POST /fulfillment/202309/packages/ship", count: 12, p50: 60, p95: 900, p99: 990, max: 1000 },
    ],
    rates: { stage_attempts: 200, failure_rate: 0.02, retry_rate: 0.015, api_calls: 180, error_rate: 0.01, timeout_rate: 0 },
    queue: {
      by_state: [
        { state: "available", count: 3 },
        { state: "scheduled", count: 12 },
        { state: "running", count: 2 },
        { state: "retryable", count: 1 },
        { state: "discarded", count: 4 },
      ],
      depth: 6,
      scheduled: 12,
      oldest_waiting_ms: 250,
    },
    workers: { busy: 2, total: 9, max: 80, pools: [] },
    breakers: [{ host: "http://127.0.0.1:5000", state: "closed", consecutive_failures: 0, opened_at_ms: null, next_probe_at_ms: null, last_error: null }],
    cache: { rate: 0.991, hits: 9910, misses: 90, source: "SQLite page cache" },
    process: { cpu_percent: 3.2, rss_bytes: 80 * 1024 * 1024 },
    db_pool: { backend: "sqlite", in_use: 1, idle: 4, max: 5, used: 0.2 },
    offline: { known: true, offline: false, hosts: [], backlog: 16 },
    alerts: [],
    ...overrides,
  };
}
