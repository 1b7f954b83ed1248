import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { FailureGroup } from "../bindings/FailureGroup";
import type { TriageJobDetail } from "../bindings/TriageJobDetail";
import { noneChecked, toggled } from "../lib/triage";
import { ConfirmDialog, EditArgsDialog, GroupList, HelpOverlay, JOB_ROW_HEIGHT, JobDetailPane, JobList } from "./TriageParts";

const now = 1_800_000_000_000;
const group: FailureGroup = {
  fingerprint: "f1",
  kind: "ship",
  error_kind: "invalid_request",
  pattern: "order <n> not found",
  sample: "order 5771 not found",
  count: 3,
  states: [
    { state: "retryable", count: 1 },
    { state: "discarded", count: 2 },
  ],
  shops: [{ id: 1, name: "Main shop" }],
  first_seen: now - 3_600_000,
  last_seen: now - 60_000,
};

const detail: TriageJobDetail = {
  job: {
    id: 7,
    kind: "ship",
    queue: "pipeline",
    state: "discarded",
    attempt: 2,
    max_attempts: 2,
    error_kind: "invalid_request",
    error_message: "order 5771 not found",
    fingerprint: "f1",
    failed_at: now,
    scheduled_at: now,
    created_at: now,
    edited: true,
    order_id: 3,
    tts_order_id: "5771",
    shop: { id: 1, name: "Main shop" },
  },
  args: { order_id: 4 },
  original_args: { order_id: 3 },
  unique_key: "ship:3",
  attempts: [
    {
      attempt: 1,
      outcome: "failed",
      error_kind: "invalid_request",
      message: "order 5771 not found",
      retryable: false,
      worker: "w",
      started_at: now,
      finished_at: now,
      request_id: "2026ABC",
      endpoint: "POST /ship",
      http_status: 404,
      code: 21001001,
    },
  ],
  audit: [{ id: 1, at: now, actor: "ana", action: "job_retry", job_count: 1, reason: null, job_ids: [7], details: null }],
  order: {
    id: 3,
    tts_order_id: "5771",
    shop: { id: 1, name: "Main shop" },
    status: "AWAITING_SHIPMENT",
    buyer_name: "Alex",
    total_amount: "19.99",
    currency: "USD",
    create_time: 1_700_000_000,
    ship_by_time: null,
    timeline: [{ at: now, source: "pipeline", kind: "ship_failed", message: "order not found" }],
  },
};

const noop = () => {};

describe("GroupList", () => {
  it("shows count, cause, shops, first/last seen and per-state counts", () => {
    const html = renderToStaticMarkup(<GroupList groups={[group]} selected="f1" onSelect={noop} now={now} />);
    expect(html).toContain("order &lt;n&gt; not found");
    expect(html).toContain("Main shop");
    expect(html).toContain("first 1 h ago");
    expect(html).toContain("last 1 min ago");
    expect(html).toContain("discarded 2");
    expect(html).toContain('aria-pressed="true"');
  });
});

describe("JobList", () => {
  // 10,000 jobs, ids descending; rows 200-299 are "loading" (their page is not in memory).
  const row = (i: number) => (i >= 200 && i < 300 ? undefined : { ...detail.job, id: 10_000 - i });
  const list = (first: number, last: number, checked = noneChecked) =>
    renderToStaticMarkup(
      <JobList row={row} count={10_000} complete={false} first={first} last={last} cursor={105} checked={checked}
        scrollerRef={noop} onScroll={noop} onCursor={noop} onToggle={noop} onToggleAll={noop} now={now} />,
    );
  it("renders only the window's rows, each at its fixed offset in a list-tall spacer", () => {
    const html = list(100, 120);
    expect(html.match(/class="tri-jobs-row tri-row[ "]/g)?.length).toBe(20);
    expect(html).toContain(`height:${10_000 * JOB_ROW_HEIGHT}px`);
    expect(html).toContain(`top:${100 * JOB_ROW_HEIGHT}px`);
    expect(html).not.toContain(`top:${99 * JOB_ROW_HEIGHT}px`);
    expect(html).toContain("Select job 9900");
    expect(html).not.toContain("Select job 9880");
    // The keyboard cursor is row 105.
    expect(html).toMatch(/tri-row-cursor"[^>]*aria-rowindex="107"/);
    expect(html).toContain('aria-rowcount="-1"'); // more may come
    expect(list(195, 205)).toContain("Loading…");
  });
  it("ticks ticked rows, and every row (disabled) when every matching job is selected", () => {
    const some = list(100, 103, toggled(noneChecked, 9899));
    expect(some).toMatch(/aria-label="Select job 9899"[^>]* checked=""/);
    expect(some).not.toMatch(/aria-label="Select job 9900"[^>]* checked=""/);
    const all = list(100, 103, { all: true });
    expect(all.match(/aria-label="Select job \d+" disabled=""[^>]* checked=""/g)?.length).toBe(3);
    expect(all).toMatch(/aria-label="Select every job matching the filters"[^>]* checked=""/);
  });
});

describe("JobDetailPane", () => {
  it("shows args and the originals, attempts with request_id, the order and its timeline", () => {
    const html = renderToStaticMarkup(
      <JobDetailPane detail={detail} onRetry={noop} onEdit={noop} onDiscard={noop} onCancel={noop} />,
    );
    expect(html).toContain("Original args");
    expect(html).toContain("2026ABC");
    expect(html).toContain("POST /ship");
    expect(html).toContain("21001001");
    expect(html).toContain("ship_failed");
    expect(html).toContain("AWAITING_SHIPMENT");
    // A discarded job can be retried but not discarded or cancelled again.
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Discard…/);
    expect(html).not.toMatch(/<button[^>]*disabled=""[^>]*>Retry now/);
  });
});

describe("dialogs", () => {
  it("a discard waits for its reason", () => {
    const html = renderToStaticMarkup(
      <ConfirmDialog title="Discard" message="m" confirmLabel="Discard" reason="required" busy={false} error={null} onConfirm={noop} onClose={noop} />,
    );
    expect(html).toContain('role="dialog"');
    expect(html).toContain("Reason (required)");
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Discard<\/button>/);
  });
  it("the args editor starts valid and says so", () => {
    const html = renderToStaticMarkup(<EditArgsDialog jobId={7} initial={{ order_id: 3 }} busy={false} error={null} onConfirm={noop} onClose={noop} />);
    expect(html).toContain("Valid JSON object.");
    expect(html).toContain("&quot;order_id&quot;: 3");
  });
  it("the help lists every shortcut", () => {
    const html = renderToStaticMarkup(<HelpOverlay onClose={noop} />);
    for (const k of ["j / k", "x", "r", "e", "d", "/", "?"]) expect(html).toContain(`<kbd>${k}</kbd>`);
  });
});
