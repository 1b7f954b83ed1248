// Turns the engine's flat (queue, kind, state, count) rows into the table the console shows: one row
// per queue and job kind, one column per state, with totals. Pure, so it is unit-tested on its own.
import type { QueueCount } from "../bindings/QueueCount";

/** The queue's states in lifecycle order (River's names); see docs/job-states.md. */
export const JOB_STATES = [
  "available",
  "scheduled",
  "running",
  "retryable",
  "completed",
  "cancelled",
  "discarded",
] as const;

export interface QueueRow {
  queue: string;
  kind: string;
  /** Count per state column; states without jobs are 0. */
  counts: Record<string, number>;
  total: number;
}

export interface QueueTable {
  /** The known states in lifecycle order, then any unknown state the engine reported, sorted. */
  states: string[];
  rows: QueueRow[];
  /** Column totals, keyed like `QueueRow.counts`. */
  totals: Record<string, number>;
  total: number;
}

export function buildQueueTable(counts: readonly QueueCount[]): QueueTable {
  const known = new Set<string>(JOB_STATES);
  // A newer engine may report a state this UI does not know yet: show it rather than drop jobs silently.
  const extra = [...new Set(counts.map((c) => c.state).filter((s) => !known.has(s)))].sort();
  const states = [...JOB_STATES, ...extra];
  const zeroes = () => Object.fromEntries(states.map((s) => [s, 0])) as Record<string, number>;

  const byKey = new Map<string, QueueRow>();
  const totals = zeroes();
  let total = 0;
  for (const { queue, kind, state, count } of counts) {
    const key = JSON.stringify([queue, kind]);
    let row = byKey.get(key);
    if (row === undefined) {
      row = { queue, kind, counts: zeroes(), total: 0 };
      byKey.set(key, row);
    }
    // The engine sends one row per (queue, kind, state), but summing keeps the table right if it ever
    // sends partial counts.
    row.counts[state] = (row.counts[state] ?? 0) + count;
    row.total += count;
    totals[state] = (totals[state] ?? 0) + count;
    total += count;
  }
  const rows = [...byKey.values()].sort(
    (a, b) => compare(a.queue, b.queue) || compare(a.kind, b.kind),
  );
  return { states, rows, totals, total };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
