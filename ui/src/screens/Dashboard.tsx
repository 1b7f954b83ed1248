// Dashboard: the live figures (one snapshot a second over the shared subscription), throughput and
// latency charts for the last 10 minutes or the stored hour / day / week, alerts with what to do,
// breakers per host, latency per stage and endpoint.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { Api } from "../api";
import { ApiError } from "../api";
import { toApiError } from "../api/transport";
import type { History } from "../bindings/History";
import type { HistoryRange } from "../bindings/HistoryRange";
import { Chart, type SeriesSpec } from "../components/Chart";
import { AlertList, BreakerTable, LatencyTable, StatTiles } from "../components/DashboardPanels";
import { ErrorNote } from "../components/ErrorNote";
import { useLive } from "../lib/live";
import { markOnce } from "../lib/marks";
import {
  formatMs,
  formatRate,
  historyLatencyColumns,
  historyThroughputColumns,
  liveLatencyColumns,
  liveThroughputColumns,
} from "../lib/liveSeries";

type Range = "live" | HistoryRange;
const ranges: { value: Range; label: string }[] = [
  { value: "live", label: "Live (10 min)" },
  { value: "hour", label: "Hour" },
  { value: "day", label: "Day" },
  { value: "week", label: "Week" },
];

const throughputSeries: SeriesSpec[] = [
  { label: "Shipped / min", color: "--accent" },
  { label: "API calls / min", color: "--accent-2" },
  { label: "Webhooks / min", color: "--ok", dash: [6, 4] },
];
const latencySeries: SeriesSpec[] = [
  { label: "Order p50", color: "--ok" },
  { label: "Order p95", color: "--accent" },
  { label: "Order p99", color: "--warn" },
  { label: "API p95", color: "--accent-2", dash: [6, 4] },
];

/** Stored minutes change once a minute: the history panel refreshes at that pace. */
const HISTORY_REFRESH_MS = 60_000;

function useHistory(api: Api, range: Range): { history: History | null; error: ApiError | null } {
  const [state, setState] = useState<{ history: History | null; error: ApiError | null }>({ history: null, error: null });
  useEffect(() => {
    if (range === "live") return;
    let cancelled = false;
    const load = () =>
      api.metricHistory(range).then(
        (history) => !cancelled && setState({ history, error: null }),
        (reason: unknown) => !cancelled && setState((prev) => ({ ...prev, error: toApiError(reason, "ui") })),
      );
    setState({ history: null, error: null });
    void load();
    const timer = setInterval(() => void load(), HISTORY_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, range]);
  return state;
}

export function Dashboard({ api }: { api: Api }) {
  const { snapshot: s, points, error } = useLive();
  const [range, setRange] = useState<Range>("live");
  const { history, error: historyError } = useHistory(api, range);
  // The first snapshot's figures go on screen alone, the live charts one paint later: building the two
  // uPlot canvases costs a forced layout each (~100 ms together in WebKitGTK on a loaded machine), which
  // would otherwise come between the first snapshot and the paint that shows its figures.
  // (ui/e2e/bench-cold-start.mjs measures it; BENCHMARKS.md.)
  const [figuresPainted, setFiguresPainted] = useState(false);
  const live = range === "live" && figuresPainted;
  const throughput = useMemo(() => (live ? liveThroughputColumns(points) : range !== "live" && history ? historyThroughputColumns(history) : null), [live, range, points, history]);
  const latency = useMemo(() => (live ? liveLatencyColumns(points) : range !== "live" && history ? historyLatencyColumns(history) : null), [live, range, points, history]);
  const seconds = (v: number) => formatMs(v * 1000);
  // The first snapshot's tiles: in the DOM (this layout effect, before the browser paints them), then
  // painted (a task queued from the next animation frame runs after that frame's paint).
  const figuresMarked = useRef(false);
  useLayoutEffect(() => {
    if (!s || figuresMarked.current) return;
    figuresMarked.current = true;
    markOnce("cf:first-figures");
    requestAnimationFrame(() =>
      setTimeout(() => {
        markOnce("cf:figures-painted");
        setFiguresPainted(true);
      }, 0),
    );
  }, [s]);

  return (
    <>
      {s?.demo && (
        <div className="notice notice-demo" role="note">
          <strong>Demo shop:</strong> no shop connected yet — orders are simulated. Connect a shop under{" "}
          <a href="#/shops">Shops &amp; settings</a> to work real orders; the demo's fault controls are there too.
        </div>
      )}
      {s?.source === "database" && (
        <div className="notice" role="note">
          No pipeline runs in this console: the figures come from the database (job counts and the two latest stored
          minutes). Workers, breakers and the offline state belong to the workers that run elsewhere.
        </div>
      )}
      <ErrorNote
        error={error}
        title={s ? "The live stream is interrupted; the figures below are from the last snapshot" : "No live figures yet"}
      />

      <section className="panel" aria-labelledby="alerts-heading">
        <div className="panel-head">
          <h2 id="alerts-heading">Alerts</h2>
          <p className="panel-note">{s ? `${s.alerts.length} firing` : "—"}</p>
        </div>
        {s ? <AlertList alerts={s.alerts} /> : <p className="placeholder">Connecting…</p>}
      </section>

      {s ? <StatTiles s={s} /> : <p className="placeholder">Waiting for the first snapshot…</p>}

      <section className="panel" aria-labelledby="charts-heading">
        <div className="panel-head">
          <h2 id="charts-heading">Throughput and latency</h2>
          <div className="segmented" role="radiogroup" aria-label="Chart range">
            {ranges.map((r) => (
              <button
                key={r.value}
                type="button"
                role="radio"
                aria-checked={range === r.value}
                className={range === r.value ? "segment segment-active" : "segment"}
                onClick={() => setRange(r.value)}
              >
                {r.label}
              </button>
            ))}
          </div>
        </div>
        {historyError && range !== "live" && (
          <p className="placeholder" role="alert">
            History unavailable: {historyError.message}
          </p>
        )}
        <div className="charts">
          {throughput && <Chart title="Throughput (per minute)" series={throughputSeries} data={throughput} format={formatRate} />}
          {latency && <Chart title="Latency (order to fulfillment, slowest API endpoint)" series={latencySeries} data={latency} format={seconds} log />}
          {!throughput && <p className="placeholder">{range === "live" ? "Waiting for the first snapshot…" : `Loading the ${range}…`}</p>}
        </div>
      </section>

      <div className="columns">
        <section className="panel" aria-labelledby="breakers-heading">
          <div className="panel-head">
            <h2 id="breakers-heading">Remote hosts</h2>
            <p className="panel-note">Circuit breaker per host</p>
          </div>
          {s ? <BreakerTable breakers={s.breakers} known={s.offline.known} /> : <p className="placeholder">Connecting…</p>}
        </section>
        <section className="panel" aria-labelledby="states-heading">
          <div className="panel-head">
            <h2 id="states-heading">Jobs by state</h2>
            <p className="panel-note">Every queue</p>
          </div>
          {s ? (
            <dl className="state-list">
              {s.queue.by_state.map((c) => (
                <div key={c.state} className={`state-item state-${c.state}`}>
                  <dt>{c.state}</dt>
                  <dd>{c.count.toLocaleString("en-US")}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <p className="placeholder">Connecting…</p>
          )}
        </section>
      </div>

      <section className="panel" aria-labelledby="latency-heading">
        <div className="panel-head">
          <h2 id="latency-heading">Latency by stage and endpoint</h2>
          <p className="panel-note">{s ? `last ${Math.round(s.window_ms / 1000)} s` : ""}</p>
        </div>
        {s ? <LatencyTable rows={s.latency} /> : <p className="placeholder">Connecting…</p>}
      </section>
    </>
  );
}
