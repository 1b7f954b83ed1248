// Startup milestones as User Timing marks (`performance.mark`), once each per page load, so the
// cold-start benchmark (ui/e2e/bench-cold-start.mjs) can tell where the time to the first live
// figures goes: the script evaluated, the live subscription opened, its first snapshot, the figures
// on screen. Reading them costs nothing unless someone asks (`performance.getEntriesByType("mark")`).

export type Milestone = "cf:script" | "cf:live-subscribe" | "cf:live-first" | "cf:first-figures" | "cf:figures-painted";

/** Marks `name` the first time it is reached in this page; later calls do nothing. */
export function markOnce(name: Milestone): void {
  const p = globalThis.performance;
  if (typeof p?.mark !== "function" || typeof p.getEntriesByName !== "function") return;
  if (p.getEntriesByName(name, "mark").length > 0) return;
  p.mark(name);
}
