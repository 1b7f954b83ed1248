// Overview: which database this console uses, and the jobs by queue and state, refreshed every second.
import type { Api } from "../api";
import { ErrorNote } from "../components/ErrorNote";
import { QueueTable } from "../components/QueueTable";
import { useOverview } from "../lib/useOverview";

export function Overview({ api }: { api: Api }) {
  const { data, error } = useOverview(api);
  return (
    <>
      <ErrorNote error={error} title={data ? "Refreshing the overview failed" : "The console is not available"} />

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
            <dd>{api.transport === "tauri" ? "Desktop (IPC)" : "Web (HTTP)"}</dd>
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
    </>
  );
}
