// The dashboard's panels that are plain markup (stat tiles, alerts, breakers, latency table), kept
// apart from the screen so they render (and are tested) without a chart or a subscription.
import type { Alert } from "../bindings/Alert";
import type { BreakerView } from "../bindings/BreakerView";
import type { LatencyRow } from "../bindings/LatencyRow";
import type { LiveSnapshot } from "../bindings/LiveSnapshot";
import { formatBytes, formatMs, formatPercent, formatRate } from "../lib/liveSeries";

const int = new Intl.NumberFormat("en-US");
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function Tile({ label, value, detail, title, tone }: { label: string; value: string; detail?: string; title?: string; tone?: "bad" | "warn" }) {
  return (
    <div className={tone ? `tile tile-${tone}` : "tile"} title={title}>
      <dt>{label}</dt>
      <dd>
        <span className="tile-value">{value}</span>
        {detail && <span className="tile-detail">{detail}</span>}
      </dd>
    </div>
  );
}

/** A rate over a window shorter than a minute (the first seconds after start) is a short burst
 *  scaled up: say what it was counted on, so "2,600 / min" two seconds in reads as "90 in 2 s". */
export function rateNote(s: LiveSnapshot, perMin: number, what: string): { detail?: string; title: string } {
  // The sliding window is six 10-second slots (metrics/series.rs): a full one spans 50–60 s.
  if (s.window_ms >= 50_000) return { title: `${what} over the last minute` };
  const seconds = Math.max(1, Math.round(s.window_ms / 1000));
  const count = Math.round((perMin * s.window_ms) / 60_000);
  return { detail: `${int.format(count)} in ${seconds} s`, title: `since start: ${int.format(count)} ${what} in ${seconds} s, scaled to a minute` };
}

export function StatTiles({ s }: { s: LiveSnapshot }) {
  const w = s.workers;
  const r = s.rates;
  const alerting = new Set(s.alerts.map((a) => a.id));
  return (
    <dl className="tiles" aria-label="Live figures">
      <Tile label="Shipped / min" value={formatRate(s.throughput.orders_shipped_per_min)} {...rateNote(s, s.throughput.orders_shipped_per_min, "shipped")} />
      <Tile label="API calls / min" value={formatRate(s.throughput.api_calls_per_min)} {...rateNote(s, s.throughput.api_calls_per_min, "calls")} />
      <Tile label="Webhooks / min" value={formatRate(s.throughput.webhooks_per_min)} {...rateNote(s, s.throughput.webhooks_per_min, "received")} />
      <Tile
        label="Queue depth"
        value={int.format(s.queue.depth)}
        detail={`${int.format(s.queue.scheduled)} parked`}
        title="Jobs ready, running or in back-off; parked jobs wait for a time (the buyer, TikTok, a host to come back)"
        {...(alerting.has("queue_depth") ? { tone: "warn" as const } : {})}
      />
      <Tile label="Oldest waiting" value={formatMs(s.queue.oldest_waiting_ms)} title="How long the oldest job ready to run has waited for a worker" />
      <Tile label="Workers busy" value={w ? `${int.format(w.busy)} / ${int.format(w.total)}` : "—"} detail={w ? `max ${int.format(w.max)}` : "elsewhere"} />
      <Tile label="CPU" value={s.process.cpu_percent === null ? "—" : `${s.process.cpu_percent.toFixed(1)}%`} detail={`RAM ${formatBytes(s.process.rss_bytes)}`} title="This process, in percent of one core" />
      <Tile
        label="Failure rate"
        value={formatPercent(r.failure_rate)}
        detail={`${int.format(r.stage_attempts)} attempts`}
        title="Stage attempts that ended in an error (retried or dead-lettered), last minute; parked attempts are not counted"
        {...(alerting.has("order_failure_rate") ? { tone: "bad" as const } : {})}
      />
      <Tile label="Retry rate" value={formatPercent(r.retry_rate)} title="Stage attempts whose error sends the job back for another attempt" />
      <Tile
        label="API errors"
        value={formatPercent(r.error_rate)}
        detail={`${formatPercent(r.timeout_rate)} timeouts · ${int.format(r.api_calls)} calls`}
        title="TikTok API calls that failed for any reason (and those that timed out), last minute"
      />
      <Tile
        label="Cache hit rate"
        value={formatPercent(s.cache.rate)}
        title={s.cache.source}
        {...(alerting.has("cache_hit_rate") ? { tone: "warn" as const } : {})}
      />
      <Tile
        label="DB connections"
        value={`${int.format(s.db_pool.in_use)} / ${int.format(s.db_pool.max)}`}
        detail={s.db_pool.backend}
        {...(alerting.has("db_pool_saturated") ? { tone: "bad" as const } : {})}
      />
    </dl>
  );
}

export function AlertList({ alerts }: { alerts: Alert[] }) {
  if (alerts.length === 0) return <p className="placeholder">No alerts: every figure is within its threshold.</p>;
  return (
    <ul className="alerts">
      {alerts.map((a) => (
        <li key={a.id} className={`alert alert-${a.severity}`}>
          <span className="alert-badge">{a.severity === "critical" ? "Critical" : "Warning"}</span>
          <div className="alert-body">
            <p className="alert-title">{a.title}</p>
            <p className="alert-action">{a.action}</p>
            <p className="alert-meta">
              threshold {a.unit === "ms" ? formatMs(a.threshold) : `${int.format(a.threshold)}${a.unit === "%" ? "%" : ` ${a.unit}`}`} · since {clock.format(new Date(a.since_ms))}
            </p>
          </div>
        </li>
      ))}
    </ul>
  );
}

const stateLabel: Record<string, string> = { closed: "Connected", open: "Offline", half_open: "Probing" };

export function BreakerTable({ breakers, known }: { breakers: BreakerView[]; known: boolean }) {
  if (!known) return <p className="placeholder">Not known here: the pipeline runs in other processes.</p>;
  if (breakers.length === 0) return <p className="placeholder">No remote host yet.</p>;
  return (
    <table className="queue-table">
      <thead>
        <tr>
          <th scope="col">Host</th>
          <th scope="col">State</th>
          <th scope="col" className="num">Failures</th>
          <th scope="col">Next probe</th>
        </tr>
      </thead>
      <tbody>
        {breakers.map((b) => (
          <tr key={b.host}>
            <th scope="row" className="mono">{b.host}</th>
            <td className={`breaker-${b.state}`} title={b.last_error ?? undefined}>
              {stateLabel[b.state] ?? b.state}
            </td>
            <td className="num">{int.format(b.consecutive_failures)}</td>
            <td>{b.next_probe_at_ms ? clock.format(new Date(b.next_probe_at_ms)) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const groupLabel: Record<string, string> = { order: "Order", stage_wait: "Stage wait", stage_run: "Stage run", api: "API" };

export function LatencyTable({ rows }: { rows: LatencyRow[] }) {
  if (rows.length === 0) return <p className="placeholder">No latency samples yet.</p>;
  return (
    <div className="table-scroll">
      <table className="queue-table latency-table">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col" className="num">Count</th>
            <th scope="col" className="num">p50</th>
            <th scope="col" className="num">p95</th>
            <th scope="col" className="num">p99</th>
            <th scope="col" className="num">max</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.group}:${r.label}`}>
              <td>{groupLabel[r.group] ?? r.group}</td>
              <th scope="row" className={r.group === "api" ? "mono" : undefined}>{r.label}</th>
              <td className={r.count === 0 ? "num zero" : "num"}>{int.format(r.count)}</td>
              <td className="num">{formatMs(r.p50)}</td>
              <td className="num">{formatMs(r.p95)}</td>
              <td className="num">{formatMs(r.p99)}</td>
              <td className="num">{formatMs(r.max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
