import { describe, expect, it } from "vitest";
import { createApi } from "./index";
import type { Args, Transport } from "./transport";

/** A transport that records every call and answers `{}`. */
function recording(): { transport: Transport; calls: Array<[string, Args | undefined]> } {
  const calls: Array<[string, Args | undefined]> = [];
  return {
    calls,
    transport: {
      name: "http",
      call: async <T,>(command: string, args?: Args) => {
        calls.push([command, args]);
        return {} as T;
      },
    },
  };
}

describe("triage API", () => {
  it("calls each command with one named argument object, as the Tauri commands and web routes take them", async () => {
    const { transport, calls } = recording();
    const api = createApi(transport);
    const filter = { states: [], kind: null, shop_id: null, fingerprint: null, error: null, failed_from: null, failed_to: null, args: null };
    const selection = { by: "filter" as const, filter };
    await api.triageGroups(filter);
    await api.triageJobs({ filter, before: null, limit: 10 });
    await api.triageJob(7);
    await api.triagePreview({ selection, action: "retry" });
    await api.triageBulk({ selection, action: "retry", expected_count: 3, reason: null });
    await api.triageRetry({ id: 7, args: { order_id: 1 } });
    await api.triageDiscard({ id: 7, reason: "refunded" });
    await api.triageCancel({ id: 7, reason: null });
    await api.auditLog({ action: null, actor: null, job_id: 7, before: null, limit: 50 });
    expect(calls.map(([c, a]) => [c, Object.keys(a ?? {})])).toEqual([
      ["triage_groups", ["query"]],
      ["triage_jobs", ["query"]],
      ["triage_job", ["id"]],
      ["triage_preview", ["req"]],
      ["triage_bulk", ["req"]],
      ["triage_retry", ["req"]],
      ["triage_discard", ["req"]],
      ["triage_cancel", ["req"]],
      ["audit_log", ["query"]],
    ]);
    expect(calls[4]![1]).toEqual({ req: { selection, action: "retry", expected_count: 3, reason: null } });
  });
});
