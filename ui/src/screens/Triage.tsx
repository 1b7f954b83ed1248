// Failed jobs (triage): failures grouped by cause → selecting a group filters the job list; a filters
// bar; a virtualized job list (keyset pages as you scroll, like Orders) with checkboxes; the job's
// detail (args, attempts with TikTok's request_id, the order and its timeline); retry, edit-and-retry,
// discard, cancel, and bulk actions on the selection or the whole filter after a count preview; the
// audit log; keyboard shortcuts (? shows them).
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { Api } from "../api";
import { ApiError } from "../api";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { BulkPreview } from "../bindings/BulkPreview";
import type { FailureGroups } from "../bindings/FailureGroups";
import type { JobSelection } from "../bindings/JobSelection";
import type { JobState } from "../bindings/JobState";
import type { ShopRef } from "../bindings/ShopRef";
import type { TriageAction } from "../bindings/TriageAction";
import type { TriageJob } from "../bindings/TriageJob";
import type { TriageJobDetail } from "../bindings/TriageJobDetail";
import { AuditList, ConfirmDialog, EditArgsDialog, GroupList, HelpOverlay, JOB_ROW_HEIGHT, JobDetailPane, JobList } from "../components/TriageParts";
import type { KeysetFeed } from "../lib/feed";
import { useVirtualRows } from "../lib/useVirtualRows";
import {
  actionVerb,
  ALL_STATES,
  bulkSelection,
  checkedLabel,
  describePreview,
  emptyForm,
  isDefaultForm,
  jobFeed,
  moveCursor,
  noneChecked,
  plural,
  shortcutFor,
  toFilter,
  toggled,
  without,
  type Checked,
  type FilterForm,
} from "../lib/triage";

type Pending =
  | { kind: "single"; action: TriageAction; job: TriageJob }
  | { kind: "edit"; job: TriageJob; args: unknown }
  | { kind: "bulk"; action: TriageAction; selection: JobSelection; preview: BulkPreview };

/** Jobs per keyset page of the list. */
const PAGE_SIZE = 100;

const errorText = (e: unknown) => (e instanceof ApiError ? `${e.message} (${e.kind})` : String(e));

export function Triage({ api }: { api: Api }) {
  const [form, setForm] = useState<FilterForm>(emptyForm);
  const [fingerprint, setFingerprint] = useState<string | null>(null);
  const [groups, setGroups] = useState<FailureGroups | null>(null);
  // The keyboard cursor is a row index of the list (the feed knows which job is there).
  const [cursor, setCursor] = useState(0);
  const [checked, setChecked] = useState<Checked>(noneChecked);
  const [detail, setDetail] = useState<TriageJobDetail | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [view, setView] = useState<"jobs" | "audit">("jobs");
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [help, setHelp] = useState(false);
  const [shops, setShops] = useState<ShopRef[]>([]);
  const [kinds, setKinds] = useState<string[]>([]);
  const [reload, setReload] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const search = useRef<HTMLInputElement | null>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);

  // Typing in a text filter waits for a pause (250 ms) before asking the engine again.
  const [applied, setApplied] = useState<FilterForm>(form);
  useEffect(() => {
    const t = setTimeout(() => setApplied(form), 250);
    return () => clearTimeout(t);
  }, [form]);
  // The filter without the group (the group list shows every group of the filter) and with it.
  const groupFilter = useMemo(() => toFilter(applied), [applied]);
  const jobFilter = useMemo(() => toFilter(applied, fingerprint), [applied, fingerprint]);

  // The job list's feed: a new one for a new filter (back to the top, selection cleared) and after
  // every action (`reload`), when it keeps the old list's height so the scroll position survives
  // while the pages are fetched again.
  const filterKey = JSON.stringify(jobFilter);
  const previous = useRef<{ filterKey: string; feed: KeysetFeed<TriageJob, number> | null }>({ filterKey: "", feed: null });
  const feed = useMemo(() => {
    const old = previous.current;
    const expected = old.feed && old.filterKey === filterKey ? old.feed.count : 0;
    return jobFeed(api, jobFilter, PAGE_SIZE, rerender, expected);
    // Keyed on the filter's value (JSON), not the object; `reload` asks for fresh pages.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, filterKey, reload]);
  useEffect(() => {
    previous.current = { filterKey, feed };
    return () => feed.dispose();
  }, [feed, filterKey]);
  const count = feed.count;
  const virtual = useVirtualRows(count, JOB_ROW_HEIGHT);
  const { first, last } = virtual;
  useEffect(() => {
    feed.ensure(first, Math.max(last, 1));
  });
  useEffect(() => {
    setCursor(0);
    setChecked(noneChecked);
    virtual.reset();
  }, [filterKey, virtual.reset]);
  // A shorter list after an action: the cursor stays on the same row index, clamped to the list.
  useEffect(() => {
    if (feed.complete && cursor > 0 && cursor >= count) setCursor(Math.max(0, count - 1));
  }, [feed.complete, count, cursor]);

  useEffect(() => {
    let live = true;
    setError(null);
    api
      .triageGroups(groupFilter)
      .then((g) => {
        if (!live) return;
        setNow(Date.now());
        setGroups(g);
        // The shop and kind pickers offer what failed (accumulated, so a chosen shop stays listed).
        setShops((old) => {
          const m = new Map(old.map((s) => [s.id, s]));
          for (const gr of g.groups) for (const s of gr.shops) m.set(s.id, s);
          return [...m.values()].sort((a, b) => a.name.localeCompare(b.name));
        });
        setKinds((old) => [...new Set([...old, ...g.groups.map((gr) => gr.kind)])].sort());
      })
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [api, groupFilter, reload]);

  // The job under the cursor; undefined while its page loads (the detail pane keeps the last one).
  const cursorJob = feed.row(cursor) ?? null;
  const cursorId = cursorJob?.id ?? null;
  const emptyList = feed.complete && count === 0;
  useEffect(() => {
    if (emptyList) setDetail(null);
    if (cursorId === null) return;
    let live = true;
    api
      .triageJob(cursorId)
      .then((d) => live && setDetail(d))
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [api, cursorId, emptyList, reload]);

  useEffect(() => {
    if (view !== "audit") return;
    let live = true;
    api
      .auditLog({ action: null, actor: null, job_id: null, before: null, limit: 200 })
      .then((p) => live && setAudit(p.events))
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [api, view, reload]);

  const moveTo = useCallback(
    (index: number) => {
      if (index < 0) return;
      setCursor(index);
      virtual.scrollToRow(index);
    },
    [virtual.scrollToRow],
  );

  // The engine's count of jobs matching the list's filter: the group's when one is chosen.
  const matching = groups === null ? null : fingerprint === null ? groups.total_jobs : (groups.groups.find((g) => g.fingerprint === fingerprint)?.count ?? null);

  const closeDialog = useCallback(() => {
    setPending(null);
    setDialogError(null);
    setBusy(false);
  }, []);
  const done = (message: string) => {
    closeDialog();
    setNotice(message);
    setReload((n) => n + 1);
  };

  const openSingle = useCallback((action: TriageAction, job: TriageJob | null) => {
    if (job) setPending({ kind: "single", action, job });
  }, []);
  const openEdit = useCallback(() => {
    if (cursorJob && detail && detail.job.id === cursorJob.id) setPending({ kind: "edit", job: cursorJob, args: detail.args });
  }, [cursorJob, detail]);

  const openBulk = async (action: TriageAction) => {
    const selection = bulkSelection(checked, jobFilter);
    try {
      const preview = await api.triagePreview({ selection, action });
      setPending({ kind: "bulk", action, selection, preview });
    } catch (e) {
      setError(errorText(e));
    }
  };

  const confirm = async (reason: string, args?: Record<string, unknown>) => {
    if (!pending) return;
    setBusy(true);
    setDialogError(null);
    const why = reason.trim() === "" ? null : reason.trim();
    try {
      if (pending.kind === "edit") {
        await api.triageRetry({ id: pending.job.id, args: args ?? null });
        setChecked((c) => without(c, [pending.job.id]));
        done(`Job #${pending.job.id} runs again with the edited args.`);
      } else if (pending.kind === "single") {
        const { action, job } = pending;
        if (action === "retry") await api.triageRetry({ id: job.id, args: null });
        else if (action === "discard") await api.triageDiscard({ id: job.id, reason: why });
        else await api.triageCancel({ id: job.id, reason: why });
        setChecked((c) => without(c, [job.id]));
        done(`Job #${job.id}: ${actionVerb(action).toLowerCase()} done.`);
      } else {
        const r = await api.triageBulk({
          selection: pending.selection,
          action: pending.action,
          expected_count: pending.preview.count,
          reason: why,
        });
        setChecked(noneChecked);
        const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : "";
        done(`${actionVerb(r.action)}: ${r.changed.length} of ${plural(r.matched, "job")} changed${skipped}.`);
      }
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.kind === "count_changed" && pending.kind === "bulk") {
        // Show the new count and let the person confirm again: never act on more than they saw.
        const preview = await api.triagePreview({ selection: pending.selection, action: pending.action }).catch(() => pending.preview);
        setPending({ ...pending, preview });
      }
      setDialogError(errorText(e));
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const s = shortcutFor({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, targetTag: t?.tagName, targetEditable: t?.isContentEditable });
      if (s === null) return;
      if (s === "close") {
        if (pending) closeDialog();
        else if (help) setHelp(false);
        return;
      }
      if (pending) return;
      if (help && s !== "help") return;
      e.preventDefault();
      switch (s) {
        case "down":
          moveTo(moveCursor(count, cursor, 1));
          break;
        case "up":
          moveTo(moveCursor(count, cursor, -1));
          break;
        case "select":
          if (cursorJob) setChecked((c) => toggled(c, cursorJob.id));
          break;
        case "retry":
          openSingle("retry", cursorJob);
          break;
        case "edit":
          openEdit();
          break;
        case "discard":
          openSingle("discard", cursorJob);
          break;
        case "search":
          search.current?.focus();
          break;
        case "help":
          setHelp((h) => !h);
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [count, cursor, cursorJob, moveTo, pending, help, closeDialog, openSingle, openEdit]);

  const set = <K extends keyof FilterForm>(k: K, v: FilterForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const toggleState = (s: JobState) => set("states", form.states.includes(s) ? form.states.filter((x) => x !== s) : [...form.states, s]);
  const filtered = !isDefaultForm(form) || fingerprint !== null;
  const nothingFailed = groups !== null && groups.groups.length === 0 && !filtered;

  return (
    <div className="triage">
      <form className="tri-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <fieldset className="tri-states-filter">
          <legend>State</legend>
          {ALL_STATES.map((s) => (
            <label key={s} className="tri-toggle">
              <input type="checkbox" checked={form.states.includes(s)} onChange={() => toggleState(s)} /> {s}
            </label>
          ))}
        </fieldset>
        <label className="tri-field">
          <span>Kind</span>
          <select value={form.kind} onChange={(e) => set("kind", e.target.value)}>
            <option value="">every kind</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label className="tri-field">
          <span>Shop</span>
          <select value={form.shopId} onChange={(e) => set("shopId", e.target.value)}>
            <option value="">every shop</option>
            {shops.map((s) => (
              <option key={s.id} value={String(s.id)}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="tri-field tri-grow">
          <span>Error text</span>
          <input ref={search} type="search" value={form.error} placeholder="e.g. not found  ( / )" onChange={(e) => set("error", e.target.value)} />
        </label>
        <label className="tri-field">
          <span>Args text</span>
          <input type="search" value={form.args} placeholder="e.g. an order id" onChange={(e) => set("args", e.target.value)} />
        </label>
        <label className="tri-field">
          <span>Failed from</span>
          <input type="datetime-local" value={form.from} onChange={(e) => set("from", e.target.value)} />
        </label>
        <label className="tri-field">
          <span>until</span>
          <input type="datetime-local" value={form.to} onChange={(e) => set("to", e.target.value)} />
        </label>
        <div className="tri-filter-buttons">
          <button type="button" onClick={() => { setForm(emptyForm()); setFingerprint(null); }} disabled={!filtered}>
            Clear
          </button>
          <button type="button" onClick={() => setReload((n) => n + 1)}>
            Refresh
          </button>
          <button type="button" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts (?)">
            ?
          </button>
        </div>
      </form>

      {error && (
        <div className="error" role="alert">
          <p className="error-title">Triage could not load</p>
          <p className="error-message">{error}</p>
        </div>
      )}
      {notice && (
        <p className="tri-notice" role="status">
          {notice}{" "}
          <button type="button" className="link" onClick={() => setNotice(null)}>
            dismiss
          </button>
        </p>
      )}

      {/* The audit log (shop changes, backups, earlier retries) must stay reachable with no failure. */}
      {groups === null && !error && !filtered && view === "jobs" ? (
        // The first load: no grid yet, so it does not flash in and out before the empty state.
        <section className="panel empty" aria-busy="true">
          <p className="empty-title">Loading failed jobs…</p>
        </section>
      ) : nothingFailed && view === "jobs" ? (
        <section className="panel empty">
          <p className="empty-title">No failed jobs — everything is flowing</p>
          <p className="empty-body">Jobs that fail show up here, grouped by cause, with what TikTok answered.</p>
          <p>
            <button type="button" className="button" onClick={() => setView("audit")}>
              Open the audit log
            </button>
          </p>
        </section>
      ) : (
        <div className="tri-grid">
          <section className="panel tri-col" aria-labelledby="tri-groups-h">
            <div className="panel-head">
              <h2 id="tri-groups-h">Causes</h2>
              <p className="panel-note">{groups ? plural(groups.total_jobs, "job") : "Loading…"}</p>
            </div>
            {groups && groups.groups.length === 0 ? (
              <p className="placeholder">No failures match these filters.</p>
            ) : (
              <GroupList groups={groups?.groups ?? []} selected={fingerprint} onSelect={setFingerprint} now={now} />
            )}
            {groups?.truncated && <p className="tri-muted">Only the 200 biggest causes are shown: narrow the filters.</p>}
          </section>

          <section className="panel tri-col tri-main" aria-labelledby="tri-jobs-h">
            <div className="panel-head">
              <div className="tri-tabs" role="tablist">
                <button type="button" role="tab" aria-selected={view === "jobs"} className={view === "jobs" ? "tab tab-active" : "tab"} onClick={() => setView("jobs")}>
                  <span id="tri-jobs-h">Failed jobs</span>
                </button>
                <button type="button" role="tab" aria-selected={view === "audit"} className={view === "audit" ? "tab tab-active" : "tab"} onClick={() => setView("audit")}>
                  Audit log
                </button>
              </div>
              {view === "jobs" && (
                <p className="panel-note tri-list-count" role="status">
                  {feed.complete ? `${count.toLocaleString("en-US")} ${count === 1 ? "job" : "jobs"}` : count > 0 ? `${count.toLocaleString("en-US")}+ jobs` : ""}
                </p>
              )}
            </div>
            {view === "jobs" ? (
              <>
                <div className="tri-bulk" role="group" aria-label="Bulk actions">
                  <span className="tri-bulk-label">{checkedLabel(checked, matching)}</span>
                  {(["retry", "discard", "cancel"] as TriageAction[]).map((a) => (
                    <button key={a} type="button" className={a === "discard" ? "danger" : undefined} disabled={count === 0} onClick={() => void openBulk(a)}>
                      {actionVerb(a)} {!checked.all && checked.ids.size > 0 ? "selected" : "all"}…
                    </button>
                  ))}
                  {(checked.all || checked.ids.size > 0) && (
                    <button type="button" className="link" aria-label="Clear the selection" onClick={() => setChecked(noneChecked)}>
                      clear
                    </button>
                  )}
                </div>
                {feed.error && (
                  <div className="error" role="alert">
                    <p className="error-title">Loading the jobs failed</p>
                    <p className="error-message">{errorText(feed.error)}</p>
                    <button type="button" onClick={() => feed.retry()}>
                      Retry
                    </button>
                  </div>
                )}
                {count === 0 ? (
                  <p className="placeholder">{feed.complete ? "No failed jobs match these filters." : "Loading…"}</p>
                ) : (
                  <JobList
                    row={(i) => feed.row(i)}
                    count={count}
                    complete={feed.complete}
                    first={first}
                    last={last}
                    cursor={cursor}
                    checked={checked}
                    scrollerRef={virtual.scrollerRef}
                    onScroll={virtual.onScroll}
                    onCursor={setCursor}
                    onToggle={(id) => setChecked((c) => toggled(c, id))}
                    onToggleAll={() => setChecked((c) => (c.all ? noneChecked : { all: true }))}
                    now={now}
                  />
                )}
              </>
            ) : audit.length === 0 ? (
              <p className="placeholder">No actions recorded yet: retries, discards and cancels appear here.</p>
            ) : (
              <div className="tri-scroll">
                <AuditList events={audit} />
              </div>
            )}
          </section>

          <section className="panel tri-col tri-detail" aria-label="Job detail">
            {detail ? (
              <JobDetailPane
                detail={detail}
                onRetry={() => openSingle("retry", detail.job)}
                onEdit={() => setPending({ kind: "edit", job: detail.job, args: detail.args })}
                onDiscard={() => openSingle("discard", detail.job)}
                onCancel={() => openSingle("cancel", detail.job)}
              />
            ) : (
              <p className="placeholder">Select a job to see its args, attempts and order.</p>
            )}
          </section>
        </div>
      )}

      {pending?.kind === "edit" && (
        <EditArgsDialog jobId={pending.job.id} initial={pending.args} busy={busy} error={dialogError} onClose={closeDialog} onConfirm={(args) => void confirm("", args)} />
      )}
      {pending?.kind === "single" && (
        <ConfirmDialog
          title={`${actionVerb(pending.action)} job #${pending.job.id}`}
          message={
            pending.action === "retry"
              ? `Run ${pending.job.kind} job #${pending.job.id} again now?`
              : pending.action === "discard"
                ? "The job moves to the dead-letter state and stays there for triage."
                : "The job stops for good."
          }
          confirmLabel={actionVerb(pending.action)}
          reason={pending.action === "discard" ? "required" : pending.action === "cancel" ? "optional" : "none"}
          danger={pending.action !== "retry"}
          busy={busy}
          error={dialogError}
          onClose={closeDialog}
          onConfirm={(r) => void confirm(r)}
        />
      )}
      {pending?.kind === "bulk" && (
        <ConfirmDialog
          key={pending.preview.count}
          title={`${actionVerb(pending.action)} ${pending.selection.by === "ids" ? "the selected jobs" : "every job matching the filters"}`}
          message={describePreview(pending.action, pending.preview)}
          confirmLabel={`${actionVerb(pending.action)} ${plural(pending.preview.count, "job")}`}
          reason={pending.action === "discard" ? "required" : pending.action === "cancel" ? "optional" : "none"}
          danger={pending.action !== "retry"}
          busy={busy || pending.preview.count === 0}
          error={dialogError}
          onClose={closeDialog}
          onConfirm={(r) => void confirm(r)}
        />
      )}
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
    </div>
  );
}
