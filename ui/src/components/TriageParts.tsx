// The failed-job triage screen's pieces: the group list, the virtualized job list, the job detail pane,
// the audit log, and the dialogs (confirm with reason, edit args as JSON, keyboard help). They only
// render what they are given; screens/Triage.tsx owns the data, the feed and the calls.
import { useEffect, useRef, useState, type ReactNode } from "react";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { FailureGroup } from "../bindings/FailureGroup";
import type { TriageJob } from "../bindings/TriageJob";
import type { TriageJobDetail } from "../bindings/TriageJobDetail";
import { formatAmount } from "../lib/orders";
import { ago, auditSubject, isChecked, parseArgs, SHORTCUTS, stamp, type Checked } from "../lib/triage";

export function GroupList(props: {
  groups: FailureGroup[];
  selected: string | null;
  onSelect: (fingerprint: string | null) => void;
  now: number;
}) {
  const { groups, selected, onSelect, now } = props;
  return (
    <ul className="tri-groups" aria-label="Failure groups">
      {groups.map((g) => {
        const active = g.fingerprint === selected;
        return (
          <li key={g.fingerprint}>
            <button
              type="button"
              className={active ? "tri-group tri-group-active" : "tri-group"}
              aria-pressed={active}
              onClick={() => onSelect(active ? null : g.fingerprint)}
              title={g.sample}
            >
              <span className="tri-group-top">
                <span className="tri-count">{g.count.toLocaleString("en-US")}</span>
                <span className="tri-kind">{g.kind}</span>
                {g.error_kind && <span className="tri-ekind">{g.error_kind}</span>}
              </span>
              <span className="tri-pattern">{g.pattern || "(no message)"}</span>
              <span className="tri-meta">
                {g.shops.length === 0 ? "no shop" : g.shops.map((s) => s.name).join(", ")} · first {ago(g.first_seen, now)} · last{" "}
                {ago(g.last_seen, now)}
              </span>
              <span className="tri-states">
                {g.states.map((s) => (
                  <span key={s.state} className={`tri-chip state-${s.state}`}>
                    {s.state} {s.count}
                  </span>
                ))}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** The job list's fixed row height (px): the virtualized list places row `i` at `i * JOB_ROW_HEIGHT`. */
export const JOB_ROW_HEIGHT = 64;

/**
 * The failed-job list, virtualized: only rows `[first, last)` are in the DOM, placed absolutely in a
 * spacer as tall as the whole list; the screen's KeysetFeed supplies them (`row` is undefined while a
 * row's page loads). The header checkbox ticks every job matching the filters (the engine's set, not
 * the rows loaded here).
 */
export function JobList(props: {
  row: (index: number) => TriageJob | undefined;
  count: number;
  complete: boolean;
  first: number;
  last: number;
  cursor: number;
  checked: Checked;
  scrollerRef: (el: HTMLDivElement | null) => void;
  onScroll: () => void;
  onCursor: (index: number) => void;
  onToggle: (id: number) => void;
  onToggleAll: () => void;
  now: number;
}) {
  const { row, count, complete, first, last, cursor, checked, onCursor, onToggle, now } = props;
  const rows = [];
  for (let i = first; i < last; i++) {
    const j = row(i);
    const style = { top: i * JOB_ROW_HEIGHT, height: JOB_ROW_HEIGHT };
    if (!j) {
      rows.push(
        <div key={`p${i}`} className="tri-jobs-row tri-row-pending" role="row" aria-rowindex={i + 2} style={style}>
          <span role="gridcell" />
          <span role="gridcell" className="tri-muted">Loading…</span>
        </div>,
      );
      continue;
    }
    rows.push(
      <div
        key={j.id}
        className={i === cursor ? "tri-jobs-row tri-row tri-row-cursor" : "tri-jobs-row tri-row"}
        role="row"
        aria-rowindex={i + 2}
        aria-selected={i === cursor}
        style={style}
        onClick={() => onCursor(i)}
      >
        <span role="gridcell" className="tri-check">
          <input
            type="checkbox"
            aria-label={`Select job ${j.id}`}
            checked={isChecked(checked, j.id)}
            disabled={checked.all}
            title={checked.all ? "Every job matching the filters is selected: clear the selection to pick jobs" : undefined}
            onClick={(e) => e.stopPropagation()}
            onChange={() => onToggle(j.id)}
          />
        </span>
        <span role="gridcell" className="tri-job-cell">
          <span className="tri-job-line">
            <span className="mono">#{j.id}</span> <strong>{j.kind}</strong>
            <span className={`tri-chip state-${j.state}`}>{j.state}</span>
            <span className="tri-attempts" title="attempts used / allowed">
              {j.attempt}/{j.max_attempts}
            </span>
            {j.edited && <span className="tri-chip">edited</span>}
          </span>
          <span className="tri-error" title={j.error_message ?? undefined}>
            {j.error_kind && <code>{j.error_kind}</code>} {j.error_message}
          </span>
        </span>
        <span role="gridcell" className="tri-job-cell">
          <span className="mono tri-order-id">{j.tts_order_id ?? (j.order_id !== null ? `order ${j.order_id}` : "—")}</span>
          {j.shop && <span className="tri-shop">{j.shop.name}</span>}
        </span>
        <span role="gridcell" className="tri-when">{j.failed_at !== null ? ago(j.failed_at, now) : "—"}</span>
      </div>,
    );
  }
  return (
    <div className="tri-jobs" role="grid" aria-label="Failed jobs, newest first" aria-rowcount={complete ? count + 1 : -1}>
      <div className="tri-jobs-row tri-jobs-head" role="row" aria-rowindex={1}>
        <span role="columnheader" className="tri-check">
          <input type="checkbox" aria-label="Select every job matching the filters" checked={checked.all} onChange={props.onToggleAll} />
        </span>
        <span role="columnheader">Job and latest error</span>
        <span role="columnheader">Order / shop</span>
        <span role="columnheader">Failed</span>
      </div>
      {/* The scroller is the row group and a tab stop of its own: while rows are still loading it
          holds nothing focusable, and a scrollable region must be reachable by keyboard. */}
      <div
        ref={props.scrollerRef}
        className="tri-jobs-scroll"
        role="rowgroup"
        tabIndex={0}
        aria-label="Failed job rows"
        onScroll={props.onScroll}
      >
        <div className="tri-jobs-spacer" role="none" style={{ height: count * JOB_ROW_HEIGHT }}>
          {rows}
        </div>
      </div>
    </div>
  );
}

function Json({ value }: { value: unknown }) {
  return <pre className="tri-json">{JSON.stringify(value, null, 2)}</pre>;
}

export function JobDetailPane(props: {
  detail: TriageJobDetail;
  onRetry: () => void;
  onEdit: () => void;
  onDiscard: () => void;
  onCancel: () => void;
}) {
  const { detail: d, onRetry, onEdit, onDiscard, onCancel } = props;
  const finished = d.job.state === "completed" || d.job.state === "cancelled" || d.job.state === "discarded";
  const canRetry = d.job.state !== "available" && d.job.state !== "running";
  return (
    <div className="tri-detail-body">
      <div className="tri-detail-head">
        <h3>
          Job <span className="mono">#{d.job.id}</span> · {d.job.kind}
        </h3>
        <span className={`tri-chip state-${d.job.state}`}>{d.job.state}</span>
      </div>
      <div className="tri-actions" role="group" aria-label="Actions on this job">
        <button type="button" onClick={onRetry} disabled={!canRetry} title="Retry now (r)">
          Retry now
        </button>
        <button type="button" onClick={onEdit} disabled={!canRetry} title="Edit args and retry (e)">
          Edit &amp; retry
        </button>
        <button type="button" className="danger" onClick={onDiscard} disabled={finished} title="Discard (d)">
          Discard…
        </button>
        <button type="button" onClick={onCancel} disabled={finished}>
          Cancel…
        </button>
      </div>

      <h4>Args</h4>
      <Json value={d.args} />
      {d.original_args !== null && d.original_args !== undefined && (
        <>
          <h4>Original args (before a person edited them)</h4>
          <Json value={d.original_args} />
        </>
      )}

      <h4>Attempts ({d.attempts.length})</h4>
      {d.attempts.length === 0 ? (
        <p className="tri-muted">No failed attempts recorded.</p>
      ) : (
        <ol className="tri-attempt-list">
          {d.attempts.map((a, i) => (
            <li key={i}>
              <div className="tri-attempt-head">
                <span>#{a.attempt}</span> <span className="tri-chip">{a.outcome}</span> {a.error_kind && <code>{a.error_kind}</code>}
                <span className="tri-when">{stamp(a.finished_at)}</span>
              </div>
              {a.message && <p className="tri-attempt-msg">{a.message}</p>}
              <dl className="tri-call">
                {a.request_id && (
                  <>
                    <dt>request_id</dt>
                    <dd className="mono">{a.request_id}</dd>
                  </>
                )}
                {a.endpoint && (
                  <>
                    <dt>endpoint</dt>
                    <dd className="mono">{a.endpoint}</dd>
                  </>
                )}
                {a.http_status !== null && (
                  <>
                    <dt>http</dt>
                    <dd>{a.http_status}</dd>
                  </>
                )}
                {a.code !== null && (
                  <>
                    <dt>code</dt>
                    <dd className="mono">{a.code}</dd>
                  </>
                )}
              </dl>
            </li>
          ))}
        </ol>
      )}

      <h4>Order</h4>
      {d.order ? (
        <>
          <dl className="tri-order">
            <dt>TikTok order</dt>
            <dd className="mono">{d.order.tts_order_id}</dd>
            <dt>Shop</dt>
            <dd>{d.order.shop.name}</dd>
            <dt>Status</dt>
            <dd>{d.order.status}</dd>
            <dt>Buyer</dt>
            <dd>{d.order.buyer_name}</dd>
            <dt>Total</dt>
            <dd>
              {formatAmount(d.order.total_amount, d.order.currency)}
            </dd>
            {d.order.ship_by_time !== null && (
              <>
                <dt>Ship by</dt>
                <dd>{stamp(d.order.ship_by_time * 1000)}</dd>
              </>
            )}
          </dl>
          <h4>Timeline</h4>
          {d.order.timeline.length === 0 ? (
            <p className="tri-muted">No events recorded for this order.</p>
          ) : (
            <ol className="tri-timeline">
              {d.order.timeline.map((t, i) => (
                <li key={i}>
                  <span className="tri-when">{stamp(t.at)}</span> <span className="tri-chip">{t.source}</span> <strong>{t.kind}</strong>{" "}
                  {t.message}
                </li>
              ))}
            </ol>
          )}
        </>
      ) : (
        <p className="tri-muted">This job is not about a cached order.</p>
      )}

      {d.audit.length > 0 && (
        <>
          <h4>What people did</h4>
          <AuditList events={d.audit} />
        </>
      )}
    </div>
  );
}

export function AuditList({ events }: { events: AuditEntry[] }) {
  return (
    <ol className="tri-audit">
      {events.map((e) => (
        <li key={e.id}>
          <span className="tri-when">{stamp(e.at)}</span> <strong>{e.actor}</strong> <code>{e.action}</code> {auditSubject(e)}
          {e.reason && <span className="tri-reason"> — {e.reason}</span>}
          {e.job_ids.length > 0 && (
            <span className="tri-ids mono">
              {" "}
              (#{e.job_ids.slice(0, 8).join(", #")}
              {e.job_count > 8 ? ", …" : ""})
            </span>
          )}
        </li>
      ))}
    </ol>
  );
}

/** A modal dialog: focus moves into it, Esc closes it (handled by the screen's key handler). */
export function Dialog(props: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    const first = ref.current?.querySelector<HTMLElement>("textarea, input, button.primary, button");
    first?.focus();
  }, []);
  return (
    <div className="tri-overlay" onClick={props.onClose}>
      <div className="tri-dialog" role="dialog" aria-modal="true" aria-label={props.title} ref={ref} onClick={(e) => e.stopPropagation()}>
        <h3>{props.title}</h3>
        {props.children}
      </div>
    </div>
  );
}

/** Confirm an action; with `needsReason` the confirm button waits for a reason. */
export function ConfirmDialog(props: {
  title: string;
  message: string;
  confirmLabel: string;
  reason: "required" | "optional" | "none";
  busy: boolean;
  error: string | null;
  danger?: boolean;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState("");
  const blocked = props.busy || (props.reason === "required" && reason.trim() === "");
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p>{props.message}</p>
      {props.reason !== "none" && (
        <label className="tri-field">
          <span>Reason{props.reason === "required" ? " (required)" : " (optional)"}</span>
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={3} maxLength={4096} />
        </label>
      )}
      {props.error && (
        <p className="tri-dialog-error" role="alert">
          {props.error}
        </p>
      )}
      <div className="tri-dialog-buttons">
        <button type="button" onClick={props.onClose}>
          Back
        </button>
        <button type="button" className={props.danger ? "primary danger" : "primary"} disabled={blocked} onClick={() => props.onConfirm(reason)}>
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** Edit-and-retry: a JSON editor that checks the args as you type. */
export function EditArgsDialog(props: {
  jobId: number;
  initial: unknown;
  busy: boolean;
  error: string | null;
  onConfirm: (args: Record<string, unknown>) => void;
  onClose: () => void;
}) {
  const [source, setSource] = useState(() => JSON.stringify(props.initial, null, 2));
  const check = parseArgs(source);
  return (
    <Dialog title={`Edit args of job #${props.jobId} and retry`} onClose={props.onClose}>
      <p>The job runs again now with these args. Its original args are kept and shown in its detail.</p>
      <label className="tri-field">
        <span>Args (JSON object)</span>
        <textarea
          className="mono"
          value={source}
          onChange={(e) => setSource(e.target.value)}
          rows={10}
          spellCheck={false}
          aria-invalid={!check.ok}
          aria-describedby="tri-args-check"
        />
      </label>
      <p id="tri-args-check" className={check.ok ? "tri-ok" : "tri-dialog-error"} role="status">
        {check.ok ? "Valid JSON object." : check.error}
      </p>
      {props.error && (
        <p className="tri-dialog-error" role="alert">
          {props.error}
        </p>
      )}
      <div className="tri-dialog-buttons">
        <button type="button" onClick={props.onClose}>
          Back
        </button>
        <button type="button" className="primary" disabled={!check.ok || props.busy} onClick={() => check.ok && props.onConfirm(check.value)}>
          {props.busy ? "Working…" : "Retry with these args"}
        </button>
      </div>
    </Dialog>
  );
}

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose}>
      <table className="tri-help">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <th scope="row">
                <kbd>{s.keys}</kbd>
              </th>
              <td>{s.action}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="tri-dialog-buttons">
        <button type="button" className="primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
