// The demo shop's fault controls on the Shops screen: take TikTok offline, start a throttle storm,
// or make a share of calls fail, time out or slow down, then watch the Dashboard ride it out. Shown
// only while the demo runs in this console (the engine answers `not_demo` otherwise).
import { useCallback, useEffect, useState } from "react";
import type { Api } from "../api";
import { toApiError, type ApiError } from "../api/transport";
import type { DemoFaultChange } from "../bindings/DemoFaultChange";
import type { DemoFaults } from "../bindings/DemoFaults";
import { activeFaults } from "../lib/shops";
import { ErrorNote } from "./ErrorNote";

const POLL_MS = 1000;
const percents = (values: number[]) => values.map((v) => ({ value: v, label: v === 0 ? "none" : `${Math.round(v * 100)} %` }));
const errorRates = percents([0, 0.05, 0.2, 0.5]);
const throttleRates = percents([0, 0.1, 0.3]);
const timeoutRates = percents([0, 0.05, 0.2]);
const latencies = [0, 200, 1000, 3000].map((v) => ({ value: v, label: v === 0 ? "none" : `${v} ms` }));

function Choice({ label, value, options, onChange }: {
  label: string;
  value: number;
  options: { value: number; label: string }[];
  onChange: (v: number) => void;
}) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <select value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function DemoFaultControls({ api }: { api: Api }) {
  const [faults, setFaults] = useState<DemoFaults | null>(null);
  const [hidden, setHidden] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [rates, setRates] = useState({ error_rate: 0, throttle_rate: 0, timeout_rate: 0, latency_ms: 0 });

  const refresh = useCallback(async () => {
    try {
      setFaults(await api.demoFaults());
    } catch (e) {
      const err = toApiError(e, "ui");
      if (err.kind === "not_demo") setHidden(true);
      else setError(err);
    }
  }, [api]);
  useEffect(() => {
    void refresh();
    // The countdowns move; a second is their resolution.
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const change = async (c: DemoFaultChange) => {
    setError(null);
    try {
      const f = await api.changeDemoFaults(c);
      setFaults(f);
      if (c.action === "clear") setRates({ error_rate: 0, throttle_rate: 0, timeout_rate: 0, latency_ms: 0 });
    } catch (e) {
      setError(toApiError(e, "ui"));
    }
  };

  if (hidden) return null;
  const active = faults ? activeFaults(faults) : [];
  return (
    <section className="panel" aria-labelledby="faults-heading">
      <div className="panel-head">
        <h2 id="faults-heading">Demo shop faults</h2>
        <p className="panel-note">Make the simulated TikTok misbehave, then watch the Dashboard</p>
      </div>
      <div className="panel-body">
        <ErrorNote error={error} />
        <p role="status" className={active.length ? "faults-active" : "ok-note"}>
          {faults === null ? "Loading…" : active.length ? active.join(" · ") : "The demo shop is healthy."}
        </p>
        <div className="connect-actions">
          <button type="button" className="button" onClick={() => void change({ action: "outage", seconds: 60 })}>
            Take TikTok offline for 60 s
          </button>
          <button type="button" className="button" onClick={() => void change({ action: "throttle_storm", seconds: 30 })}>
            Throttle storm for 30 s
          </button>
          <button type="button" className="button" disabled={!active.length} onClick={() => void change({ action: "clear" })}>
            Clear all faults
          </button>
        </div>
        <div className="connect-grid faults-grid">
          <Choice label="Calls failing" value={rates.error_rate} options={errorRates} onChange={(v) => setRates((r) => ({ ...r, error_rate: v }))} />
          <Choice label="Calls throttled" value={rates.throttle_rate} options={throttleRates} onChange={(v) => setRates((r) => ({ ...r, throttle_rate: v }))} />
          <Choice label="Calls timing out" value={rates.timeout_rate} options={timeoutRates} onChange={(v) => setRates((r) => ({ ...r, timeout_rate: v }))} />
          <Choice label="Added latency" value={rates.latency_ms} options={latencies} onChange={(v) => setRates((r) => ({ ...r, latency_ms: v }))} />
        </div>
        <button type="button" className="button" onClick={() => void change({ action: "rates", ...rates })}>
          Apply these rates
        </button>
        <p className="muted small">
          While TikTok is offline the breaker opens and work waits without spending attempts; failed calls are
          retried with back-off, and what keeps failing shows up under Failed jobs.
        </p>
      </div>
    </section>
  );
}
