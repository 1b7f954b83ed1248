// The failed-job triage screen's logic, kept out of the component so it can be unit-tested: the filter
// form and the `TriageFilter` it means, the keyset feed behind the virtualized job list, the
// edit-and-retry JSON check, keyboard shortcuts, cursor and selection moves, and the words the
// confirmation dialogs use.
import type { Api } from "../api";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { BulkPreview } from "../bindings/BulkPreview";
import type { JobSelection } from "../bindings/JobSelection";
import type { JobState } from "../bindings/JobState";
import type { TriageAction } from "../bindings/TriageAction";
import type { TriageFilter } from "../bindings/TriageFilter";
import type { TriageJob } from "../bindings/TriageJob";
import { KeysetFeed, type FeedPage } from "./feed";

/** Every job state, in lifecycle order. */
export const ALL_STATES: JobState[] = ["available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded"];

/** What "failed" means by default: waiting out a back-off, or dead-lettered. */
export const FAILED_STATES: JobState[] = ["retryable", "discarded"];

/** The filters bar as the user typed it (strings, as inputs hold them). */
export interface FilterForm {
  states: JobState[];
  kind: string;
  /** A local shop id, or "" for every shop. */
  shopId: string;
  error: string;
  /** `datetime-local` values (local time), or "". */
  from: string;
  to: string;
  args: string;
}

export function emptyForm(): FilterForm {
  return { states: [...FAILED_STATES], kind: "", shopId: "", error: "", from: "", to: "", args: "" };
}

/** True when the form filters nothing beyond the default states. */
export function isDefaultForm(f: FilterForm): boolean {
  const d = emptyForm();
  return (
    f.states.length === d.states.length &&
    f.states.every((s) => d.states.includes(s)) &&
    !f.kind && !f.shopId && !f.error.trim() && !f.from && !f.to && !f.args.trim()
  );
}

/** A `datetime-local` value as Unix ms, or null when empty or invalid. */
export function localTimeToMs(value: string): number | null {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

const text = (v: string): string | null => (v.trim() === "" ? null : v.trim());

/** The engine's filter for the form, optionally narrowed to one failure group. */
export function toFilter(f: FilterForm, fingerprint: string | null = null): TriageFilter {
  const shop = f.shopId === "" ? null : Number(f.shopId);
  return {
    states: [...f.states],
    kind: text(f.kind),
    shop_id: shop !== null && Number.isInteger(shop) ? shop : null,
    fingerprint,
    error: text(f.error),
    failed_from: localTimeToMs(f.from),
    failed_to: localTimeToMs(f.to),
    args: text(f.args),
  };
}

export type ArgsCheck = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/** Edit-and-retry's check: the text must be a JSON object (what every job of this app takes). */
export function parseArgs(source: string): ArgsCheck {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "The args must be a JSON object, like {\"order_id\": 42}." };
  }
  if (source.length > 64 * 1024) return { ok: false, error: "The args are larger than 64 KiB." };
  return { ok: true, value: value as Record<string, unknown> };
}

/** A keyboard shortcut of the screen. */
export type Shortcut = "down" | "up" | "select" | "retry" | "edit" | "discard" | "search" | "help" | "close";

export const SHORTCUTS: { keys: string; action: string }[] = [
  { keys: "j / k", action: "Next / previous job" },
  { keys: "x", action: "Select or unselect the job" },
  { keys: "r", action: "Retry the job now" },
  { keys: "e", action: "Edit the args and retry" },
  { keys: "d", action: "Discard the job (asks for a reason)" },
  { keys: "/", action: "Search error text" },
  { keys: "?", action: "Show or hide this help" },
  { keys: "Esc", action: "Close a dialog or this help" },
];

interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** The focused element's tag name (INPUT, TEXTAREA, ...). */
  targetTag?: string | undefined;
  targetEditable?: boolean | undefined;
}

/** The shortcut a key press means, or null. Typing in a field never triggers one (except Esc). */
export function shortcutFor(e: KeyLike): Shortcut | null {
  if (e.key === "Escape") return "close";
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const tag = (e.targetTag ?? "").toUpperCase();
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.targetEditable) return null;
  switch (e.key) {
    case "j":
    case "ArrowDown":
      return "down";
    case "k":
    case "ArrowUp":
      return "up";
    case "x":
      return "select";
    case "r":
      return "retry";
    case "e":
      return "edit";
    case "d":
      return "discard";
    case "/":
      return "search";
    case "?":
      return "help";
    default:
      return null;
  }
}

/**
 * The feed behind the virtualized job list: pages of `pageSize` jobs matching `filter`, newest first,
 * on the engine's keyset cursor (`before`: the last id of the previous page). `expected` keeps the
 * list's height while a refreshed list is fetched again (see FeedOptions).
 */
export function jobFeed(
  api: Pick<Api, "triageJobs">,
  filter: TriageFilter,
  pageSize: number,
  onChange: () => void,
  expected = 0,
): KeysetFeed<TriageJob, number> {
  const fetchPage = async (before: number | null): Promise<FeedPage<TriageJob, number>> => {
    const page = await api.triageJobs({ filter, before, limit: pageSize });
    return { rows: page.jobs, next: page.next_before };
  };
  return new KeysetFeed(fetchPage, pageSize, onChange, { expected });
}

/** The row index `delta` rows from `current` in a list of `count` rows (clamped); -1 for an empty list. */
export function moveCursor(count: number, current: number, delta: number): number {
  if (count <= 0) return -1;
  return Math.min(count - 1, Math.max(0, current + delta));
}

/**
 * What the checkboxes hold: some jobs by id, or every job matching the filter. "Every job" is the
 * engine's set, not the rows loaded here: the virtualized list holds only the pages near the screen,
 * and a bulk action on it goes to the engine as the filter, with a count preview first.
 */
export type Checked = { all: false; ids: ReadonlySet<number> } | { all: true };

export const noneChecked: Checked = { all: false, ids: new Set() };

export function isChecked(c: Checked, id: number): boolean {
  return c.all || c.ids.has(id);
}

/** `c` with job `id` ticked or unticked. With every matching job ticked there is no single job to untick. */
export function toggled(c: Checked, id: number): Checked {
  if (c.all) return c;
  const ids = new Set(c.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { all: false, ids };
}

/** `c` without the jobs in `ids` (an action moved them on). */
export function without(c: Checked, ids: Iterable<number>): Checked {
  if (c.all) return c;
  const next = new Set(c.ids);
  for (const id of ids) next.delete(id);
  return { all: false, ids: next };
}

/** What a bulk action acts on: the ticked jobs, or (every job ticked, or none) everything matching `filter`. */
export function bulkSelection(c: Checked, filter: TriageFilter): JobSelection {
  return !c.all && c.ids.size > 0 ? { by: "ids", ids: [...c.ids] } : { by: "filter", filter };
}

/** The bulk bar's label; `matching` is the engine's count for the filter when known. */
export function checkedLabel(c: Checked, matching: number | null): string {
  if (!c.all && c.ids.size > 0) return `${c.ids.size.toLocaleString("en-US")} selected:`;
  if (!c.all) return "Everything matching:";
  return matching === null ? "All matching selected:" : `All ${matching.toLocaleString("en-US")} matching selected:`;
}

const VERB: Record<TriageAction, string> = { retry: "Retry", discard: "Discard", cancel: "Cancel" };

export function actionVerb(a: TriageAction): string {
  return VERB[a];
}

/** "1 job", "2 jobs", "1,200 jobs". */
export const plural = (n: number, one: string) => `${n.toLocaleString("en-US")} ${n === 1 ? one : `${one}s`}`;

/** The sentence a bulk confirmation shows: what will happen to how many, and what will be skipped. */
export function describePreview(action: TriageAction, p: BulkPreview): string {
  if (p.count === 0) return "No jobs match: there is nothing to do.";
  const head = `${actionVerb(action)} ${plural(p.count, "job")}?`;
  const skipped = p.count - p.actionable;
  if (skipped === 0) return head;
  const why = action === "retry" ? "they are running or already waiting to run" : "they are already finished";
  return `${head} ${plural(skipped, "job")} will be skipped: ${why}.`;
}

/** "3 min ago", "2 h ago", "5 d ago" (or a date when older than a month). */
export function ago(ms: number, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 30 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

/** A Unix-ms time as local `YYYY-MM-DD HH:MM:SS`. */
export function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * What an audit event acted on, for the log's line: its jobs ("3 jobs"), or for an event about no job
 * what its details name — the shops connected, the shop changed, the backup file.
 */
export function auditSubject(e: Pick<AuditEntry, "job_count" | "details">): string {
  if (e.job_count > 0) return plural(e.job_count, "job");
  const d = (e.details ?? {}) as Record<string, unknown>;
  if (Array.isArray(d.shops)) {
    const names = d.shops.map((x) => (x && typeof x === "object" ? (x as Record<string, unknown>).name : null)).filter((n) => typeof n === "string");
    if (names.length > 0) return names.join(", ");
  }
  if (typeof d.shop === "string") return d.shop;
  if (typeof d.path === "string") return d.path;
  return "0 jobs";
}
