// The console's first screen: who we are, which database we use, and the jobs by queue and state.
import { useMemo } from "react";
import { createApi, type Api } from "./api";
import { QueueTable } from "./components/QueueTable";
import { useOverview } from "./lib/useOverview";

const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function App({ api }: { api?: Api }) {
  const client = useMemo(() => api ?? createApi(), [api]);
  const { data, error, updatedAt } = useOverview(client);

  const status = error ? "offline" : data ? "live" : "connecting";
  return (
    <div className="app">
      <header className="topbar">
        <img className="mark" src="/mark.svg" alt="" width={36} height={36} />
        <div className="brand">
          <h1>{data?.product ?? "CreatorFlow Console"}</h1>
          <p className="tagline">TikTok Shop order pipeline</p>
        </div>
        <div className={`status status-${status}`}>
          <span className="dot" aria-hidden="true" />
          {/* Only the state word is live: a timestamp changing every second would flood screen readers. */}
          <span role="status">{status === "live" ? "Live" : status === "offline" ? "Offline" : "Connecting…"}</span>
          {updatedAt && <span className="updated">updated {time.format(updatedAt)}</span>}
        </div>
      </header>

      <main className="content">
        {error && (
          <div className="error" role="alert">
            <p className="error-title">
              {data ? "Refreshing the overview failed" : "The console is not available"}
              <code className="error-kind">{error.kind}</code>
            </p>
            <p className="error-message">{error.message}</p>
          </div>
        )}

        <section className="facts" aria-labelledby="facts-heading">
          <h2 id="facts-heading" className="visually-hidden">
            About this console
          </h2>
          <dl>
            <div className="fact">
              <dt>Product</dt>
              <dd>{data?.product ?? "—"}</dd>
            </div>
            <div className="fact">
              <dt>Version</dt>
              <dd>{data ? `v${data.version}` : "—"}</dd>
            </div>
            <div className="fact fact-wide">
              <dt>Database</dt>
              <dd className="mono" title={data?.database}>
                {data?.database ?? "—"}
              </dd>
            </div>
            <div className="fact">
              <dt>Connection</dt>
              <dd>{client.transport === "tauri" ? "Desktop (IPC)" : "Web (HTTP)"}</dd>
            </div>
          </dl>
        </section>

        <section className="panel" aria-labelledby="queues-heading">
          <div className="panel-head">
            <h2 id="queues-heading">Jobs by queue and state</h2>
            <p className="panel-note">Refreshed every second</p>
          </div>
          {data ? (
            <QueueTable counts={data.queues} />
          ) : (
            <p className="placeholder">{error ? "No data: see the error above." : "Loading…"}</p>
          )}
        </section>
      </main>
    </div>
  );
}
