// The jobs table: one row per queue and job kind, one column per state, totals in the footer.
import type { QueueCount } from "../bindings/QueueCount";
import { buildQueueTable } from "../lib/queueTable";

const number = new Intl.NumberFormat("en-US");

export function QueueTable({ counts }: { counts: readonly QueueCount[] }) {
  const table = buildQueueTable(counts);
  if (table.rows.length === 0) {
    return (
      <div className="empty" role="note" aria-label="No jobs yet">
        <p className="empty-title">No jobs yet</p>
        <p className="empty-body">
          Jobs appear here once orders sync from TikTok Shop and the pipeline starts fulfilling them.
        </p>
      </div>
    );
  }
  return (
    <div className="table-scroll">
      <table className="queue-table" aria-labelledby="queues-heading">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Kind</th>
            {table.states.map((state) => (
              <th scope="col" key={state} className={`num state state-${state}`}>
                {state}
              </th>
            ))}
            <th scope="col" className="num">
              Total
            </th>
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row) => (
            <tr key={`${row.queue}\u0000${row.kind}`}>
              <th scope="row">{row.queue}</th>
              <td className="mono">{row.kind}</td>
              {table.states.map((state) => {
                const count = row.counts[state] ?? 0;
                return (
                  <td key={state} className={count === 0 ? "num zero" : `num state-${state}`}>
                    {number.format(count)}
                  </td>
                );
              })}
              <td className="num strong">{number.format(row.total)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              All queues
            </th>
            {table.states.map((state) => (
              <td key={state} className="num">
                {number.format(table.totals[state] ?? 0)}
              </td>
            ))}
            <td className="num strong">{number.format(table.total)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
