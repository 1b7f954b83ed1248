// Failed jobs (triage): failures grouped by cause → selecting a group filters the job list; a filters
// bar; a job list with checkboxes; the job's detail (args, attempts with TikTok's request_id, the order
// and its timeline); retry, edit-and-retry, discard, cancel, and bulk actions on the selection or the
// whole filter after a count preview; the audit log; keyboard shortcuts (? shows them).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
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
import { AuditList, ConfirmDialog, EditArgsDialog, GroupList, HelpOverlay, JobDetailPane, JobTable } from "../components/TriageParts";
import {
  actionVerb,
  ALL_STATES,
  describePreview,
  emptyForm,
  isDefaultForm,
  moveCursor,
  shortcutFor,
  toFilter,
  toggled,
  type FilterForm,
} from "../lib/triage";

type Pending =
  | { kind: "single"; action: TriageAction; job: TriageJob }
  | { kind: "edit"; job: TriageJob; args: unknown }
  | { kind: "bulk"; action: TriageAction; selection: JobSelection; preview: BulkPreview };

const errorText = (e: unknown) => (e instanceof ApiError ? `${e.message} (${e.kind})` : String(e));

export function Triage({ api }: { api: Api }) {
  const [form, setForm] = useState<FilterForm>(emptyForm);
  const [fingerprint, setFingerprint] = useState<string | null>(null);
  const [groups, setGroups] = useState<FailureGroups | null>(null);
  const [jobs, setJobs] = useState<TriageJob[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [checked, setChecked] = useState<Set<number>>(new Set());
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

  // Typing in a text filter waits for a pause (250 ms) before asking the engine again.
  const [applied, setApplied] = useState<FilterForm>(form);
  useEffect(() => {
    const t = setTimeout(() => setApplied(form), 250);
    return () => clearTimeout(t);
  }, [form]);
  // The filter without the group (the group list shows every group of the filter) and with it.
  const groupFilter = useMemo(() => toFilter(applied), [applied]);
  const jobFilter = useMemo(() => toFilter(applied, fingerprint), [applied, fingerprint]);

  useEffect(() => {
    let live = true;
    setError(null);
    Promise.all([api.triageGroups(groupFilter), api.triageJobs({ filter: jobFilter, before: null, limit: 100 })])
      .then(([g, page]) => {
        if (!live) return;
        setNow(Date.now());
        setGroups(g);
        setJobs(page.jobs);
        setNextBefore(page.next_before);
        setCursor((c) => (c !== null && page.jobs.some((j) => j.id === c) ? c : (page.jobs[0]?.id ?? null)));
        setChecked((s) => new Set([...s].filter((id) => page.jobs.some((j) => j.id === id))));
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
  }, [api, groupFilter, jobFilter, reload]);

  useEffect(() => {
    if (cursor === null) {
      setDetail(null);
      return;
    }
    let live = true;
    api
      .triageJob(cursor)
      .then((d) => live && setDetail(d))
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [api, cursor, reload]);

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

  const loadMore = () => {
    if (nextBefore === null) return;
    api
      .triageJobs({ filter: jobFilter, before: nextBefore, limit: 100 })
      .then((page) => {
        setJobs((js) => [...js, ...page.jobs]);
        setNextBefore(page.next_before);
      })
      .catch((e) => setError(errorText(e)));
  };

  const cursorJob = jobs.find((j) => j.id === cursor) ?? null;
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

  const openBulk = async (action: TriageAction, whole: boolean) => {
    const selection: JobSelection = whole ? { by: "filter", filter: jobFilter } : { by: "ids", ids: [...checked] };
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
        done(`Job #${pending.job.id} runs again with the edited args.`);
      } else if (pending.kind === "single") {
        const { action, job } = pending;
        if (action === "retry") await api.triageRetry({ id: job.id, args: null });
        else if (action === "discard") await api.triageDiscard({ id: job.id, reason: why });
        else await api.triageCancel({ id: job.id, reason: why });
        done(`Job #${job.id}: ${actionVerb(action).toLowerCase()} done.`);
      } else {
        const r = await api.triageBulk({
          selection: pending.selection,
          action: pending.action,
          expected_count: pending.preview.count,
          reason: why,
        });
        setChecked(new Set());
        const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : "";
        done(`${actionVerb(r.action)}: ${r.changed.length} of ${r.matched} jobs changed${skipped}.`);
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
      const ids = jobs.map((j) => j.id);
      switch (s) {
        case "down":
          setCursor((c) => moveCursor(ids, c, 1));
          break;
        case "up":
          setCursor((c) => moveCursor(ids, c, -1));
          break;
        case "select":
          if (cursor !== null) setChecked((set) => toggled(set, cursor));
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
  }, [jobs, cursor, cursorJob, pending, help, closeDialog, openSingle, openEdit]);

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

      {nothingFailed ? (
        <section className="panel empty">
          <p className="empty-title">No failed jobs — everything is flowing</p>
          <p className="empty-body">Jobs that fail show up here, grouped by cause, with what TikTok answered.</p>
        </section>
      ) : (
        <div className="tri-grid">
          <section className="panel tri-col" aria-labelledby="tri-groups-h">
            <div className="panel-head">
              <h2 id="tri-groups-h">Causes</h2>
              <p className="panel-note">{groups ? `${groups.total_jobs.toLocaleString("en-US")} jobs` : "Loading…"}</p>
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
            </div>
            {view === "jobs" ? (
              <>
                <div className="tri-bulk" role="group" aria-label="Bulk actions">
                  <span className="tri-bulk-label">{checked.size > 0 ? `${checked.size} selected:` : "Everything matching:"}</span>
                  {(["retry", "discard", "cancel"] as TriageAction[]).map((a) => (
                    <button key={a} type="button" className={a === "discard" ? "danger" : undefined} disabled={jobs.length === 0} onClick={() => void openBulk(a, checked.size === 0)}>
                      {actionVerb(a)} {checked.size > 0 ? "selected" : "all"}…
                    </button>
                  ))}
                  {checked.size > 0 && (
                    <button type="button" className="link" onClick={() => setChecked(new Set())}>
                      clear selection
                    </button>
                  )}
                </div>
                {jobs.length === 0 ? (
                  <p className="placeholder">{groups ? "No failed jobs match these filters." : "Loading…"}</p>
                ) : (
                  <div className="tri-scroll">
                    <JobTable
                      jobs={jobs}
                      cursor={cursor}
                      checked={checked}
                      onCursor={setCursor}
                      onToggle={(id) => setChecked((s) => toggled(s, id))}
                      onToggleAll={() => setChecked((s) => (jobs.every((j) => s.has(j.id)) ? new Set() : new Set(jobs.map((j) => j.id))))}
                      now={now}
                    />
                    {nextBefore !== null && (
                      <button type="button" className="tri-more" onClick={loadMore}>
                        Load more
                      </button>
                    )}
                  </div>
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
          confirmLabel={`${actionVerb(pending.action)} ${pending.preview.count.toLocaleString("en-US")} jobs`}
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
