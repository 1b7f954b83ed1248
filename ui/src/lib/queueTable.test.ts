import { describe, expect, it } from "vitest";
import { JOB_STATES, buildQueueTable } from "./queueTable";

describe("buildQueueTable", () => {
  it("is empty for no counts, with every known state as a zero column", () => {
    const table = buildQueueTable([]);
    expect(table.rows).toEqual([]);
    expect(table.states).toEqual([...JOB_STATES]);
    expect(table.total).toBe(0);
    expect(Object.values(table.totals).every((n) => n === 0)).toBe(true);
  });

  it("groups rows by queue and kind, one column per state, sorted by queue then kind", () => {
    const table = buildQueueTable([
      { queue: "sync", kind: "pull_orders", state: "completed", count: 40 },
      { queue: "fulfillment", kind: "ship_package", state: "running", count: 2 },
      { queue: "fulfillment", kind: "ship_package", state: "available", count: 5 },
      { queue: "fulfillment", kind: "confirm_order", state: "discarded", count: 1 },
      { queue: "sync", kind: "pull_orders", state: "retryable", count: 3 },
    ]);
    expect(table.rows.map((r) => [r.queue, r.kind])).toEqual([
      ["fulfillment", "confirm_order"],
      ["fulfillment", "ship_package"],
      ["sync", "pull_orders"],
    ]);
    const ship = table.rows[1]!;
    expect(ship.counts).toMatchObject({ available: 5, running: 2, completed: 0, discarded: 0 });
    expect(ship.total).toBe(7);
    expect(table.rows[2]!.total).toBe(43);
    expect(table.totals).toMatchObject({ available: 5, running: 2, completed: 40, retryable: 3, discarded: 1 });
    expect(table.total).toBe(51);
  });

  it("keeps a state it does not know as an extra column instead of dropping its jobs", () => {
    const table = buildQueueTable([
      { queue: "q", kind: "k", state: "pending", count: 4 },
      { queue: "q", kind: "k", state: "available", count: 1 },
    ]);
    expect(table.states).toEqual([...JOB_STATES, "pending"]);
    expect(table.rows[0]!.counts["pending"]).toBe(4);
    expect(table.total).toBe(5);
  });

  it("adds up repeated (queue, kind, state) rows", () => {
    const table = buildQueueTable([
      { queue: "q", kind: "k", state: "running", count: 2 },
      { queue: "q", kind: "k", state: "running", count: 3 },
    ]);
    expect(table.rows).toHaveLength(1);
    expect(table.rows[0]!.counts["running"]).toBe(5);
  });

  it("does not merge a queue and kind whose names could collide when joined", () => {
    const table = buildQueueTable([
      { queue: "a:b", kind: "c", state: "running", count: 1 },
      { queue: "a", kind: "b:c", state: "running", count: 1 },
    ]);
    expect(table.rows).toHaveLength(2);
  });
});
