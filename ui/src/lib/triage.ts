// The failed-job triage screen's logic, kept out of the component so it can be unit-tested: the filter
// form and the `TriageFilter` it means, the edit-and-retry JSON check, keyboard shortcuts, cursor and
// selection moves, and the words the confirmation dialogs use.
import type { BulkPreview } from "../bindings/BulkPreview";
import type { JobState } from "../bindings/JobState";
import type { TriageAction } from "../bindings/TriageAction";
import type { TriageFilter } from "../bindings/TriageFilter";

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

/** The id `delta` rows from `current` in `ids` (clamped); the first row when nothing is current. */
export function moveCursor(ids: number[], current: number | null, delta: number): number | null {
  if (ids.length === 0) return null;
  const i = current === null ? -1 : ids.indexOf(current);
  if (i === -1) return ids[0] ?? null;
  return ids[Math.min(ids.length - 1, Math.max(0, i + delta))] ?? null;
}

/** `set` with `id` added or removed. */
export function toggled(set: ReadonlySet<number>, id: number): Set<number> {
  const next = new Set(set);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

const VERB: Record<TriageAction, string> = { retry: "Retry", discard: "Discard", cancel: "Cancel" };

export function actionVerb(a: TriageAction): string {
  return VERB[a];
}

const plural = (n: number, one: string) => `${n.toLocaleString("en-US")} ${n === 1 ? one : `${one}s`}`;

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
