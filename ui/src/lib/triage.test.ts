import { describe, expect, it } from "vitest";
import type { TriageJob } from "../bindings/TriageJob";
import type { TriageJobsQuery } from "../bindings/TriageJobsQuery";
import {
  ago,
  auditSubject,
  bulkSelection,
  checkedLabel,
  describePreview,
  emptyForm,
  isChecked,
  isDefaultForm,
  jobFeed,
  moveCursor,
  noneChecked,
  parseArgs,
  shortcutFor,
  toFilter,
  toggled,
  without,
  type Checked,
} from "./triage";

describe("toFilter", () => {
  it("maps the default form to the failed states and nothing else", () => {
    expect(toFilter(emptyForm())).toEqual({
      states: ["retryable", "discarded"],
      kind: null,
      shop_id: null,
      fingerprint: null,
      error: null,
      failed_from: null,
      failed_to: null,
      args: null,
    });
    expect(isDefaultForm(emptyForm())).toBe(true);
  });

  it("trims texts, parses the shop and the time range, and carries the group", () => {
    const f = toFilter(
      { ...emptyForm(), kind: "ship", shopId: "7", error: "  not found ", args: " 577 ", from: "2026-01-01T10:00", to: "" },
      "abc123",
    );
    expect(f.kind).toBe("ship");
    expect(f.shop_id).toBe(7);
    expect(f.error).toBe("not found");
    expect(f.args).toBe("577");
    expect(f.fingerprint).toBe("abc123");
    expect(f.failed_from).toBe(new Date("2026-01-01T10:00").getTime());
    expect(f.failed_to).toBeNull();
    expect(isDefaultForm({ ...emptyForm(), error: "x" })).toBe(false);
    expect(isDefaultForm({ ...emptyForm(), states: ["discarded"] })).toBe(false);
  });

  it("ignores a shop id that is not a number and an invalid date", () => {
    const f = toFilter({ ...emptyForm(), shopId: "abc", from: "not a date" });
    expect(f.shop_id).toBeNull();
    expect(f.failed_from).toBeNull();
  });
});

describe("parseArgs", () => {
  it("accepts a JSON object", () => {
    expect(parseArgs('{"order_id": 42}')).toEqual({ ok: true, value: { order_id: 42 } });
  });
  it("explains what is wrong otherwise", () => {
    const bad = parseArgs("{order_id: 42}");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/^Not valid JSON/);
    for (const source of ["[1]", "42", "null", '"x"']) {
      const r = parseArgs(source);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/must be a JSON object/);
    }
  });
});

describe("shortcutFor", () => {
  it("maps the screen's keys", () => {
    const k = (key: string) => shortcutFor({ key });
    expect([k("j"), k("k"), k("x"), k("r"), k("e"), k("d"), k("/"), k("?"), k("Escape")]).toEqual([
      "down",
      "up",
      "select",
      "retry",
      "edit",
      "discard",
      "search",
      "help",
      "close",
    ]);
    expect(k("q")).toBeNull();
  });
  it("never fires while typing or with a modifier, except Escape", () => {
    expect(shortcutFor({ key: "r", targetTag: "INPUT" })).toBeNull();
    expect(shortcutFor({ key: "d", targetTag: "textarea" })).toBeNull();
    expect(shortcutFor({ key: "j", targetEditable: true })).toBeNull();
    expect(shortcutFor({ key: "r", ctrlKey: true })).toBeNull();
    expect(shortcutFor({ key: "Escape", targetTag: "TEXTAREA" })).toBe("close");
  });
});

describe("moveCursor", () => {
  it("moves by rows within the list and clamps at its ends", () => {
    expect(moveCursor(3, 0, 1)).toBe(1);
    expect(moveCursor(3, 2, 1)).toBe(2);
    expect(moveCursor(3, 0, -1)).toBe(0);
    expect(moveCursor(1000, 10, 29)).toBe(39);
    expect(moveCursor(3, 7, 1)).toBe(2); // the list shrank under the cursor
    expect(moveCursor(0, 0, 1)).toBe(-1);
  });
});

describe("the checked jobs", () => {
  const filter = toFilter(emptyForm());
  it("ticks and unticks ids without touching the original", () => {
    const one = toggled(noneChecked, 1);
    expect(isChecked(one, 1)).toBe(true);
    const two = toggled(one, 2);
    expect(two.all === false && [...two.ids].sort()).toEqual([1, 2]);
    expect(isChecked(toggled(two, 1), 1)).toBe(false);
    expect(isChecked(one, 2)).toBe(false);
    expect(isChecked(without(two, [2, 9]), 2)).toBe(false);
  });
  it("acts on the ids when some are ticked, else on the engine's filter (never the loaded rows)", () => {
    expect(bulkSelection(toggled(noneChecked, 5), filter)).toEqual({ by: "ids", ids: [5] });
    expect(bulkSelection(noneChecked, filter)).toEqual({ by: "filter", filter });
    const all: Checked = { all: true };
    expect(bulkSelection(all, filter)).toEqual({ by: "filter", filter });
    // Every matching job ticked: each row shows ticked, and there is no single job to untick.
    expect(isChecked(all, 123_456)).toBe(true);
    expect(toggled(all, 7)).toBe(all);
    expect(without(all, [7])).toBe(all);
  });
  it("labels the bulk bar with what it will act on", () => {
    expect(checkedLabel(toggled(noneChecked, 5), 40)).toBe("1 selected:");
    expect(checkedLabel(noneChecked, 1234)).toBe("Everything matching:");
    expect(checkedLabel({ all: true }, 1234)).toBe("All 1,234 matching selected:");
    expect(checkedLabel({ all: true }, null)).toBe("All matching selected:");
  });
});

describe("jobFeed", () => {
  it("pages the filter newest first on the id cursor the engine returns", async () => {
    const seen: Array<number | null> = [];
    const job = (id: number) => ({ id }) as TriageJob;
    const api = {
      triageJobs: async (q: TriageJobsQuery) => {
        expect(q.filter).toEqual(filter);
        expect(q.limit).toBe(2);
        seen.push(q.before);
        return q.before === null ? { jobs: [job(9), job(7)], next_before: 7 } : { jobs: [job(4)], next_before: null };
      },
    };
    const filter = toFilter(emptyForm(), "fp1");
    const feed = jobFeed(api, filter, 2, () => {});
    feed.ensure(0, 2);
    await new Promise((r) => setTimeout(r, 0));
    feed.ensure(0, 3);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([null, 7]);
    expect([0, 1, 2].map((i) => feed.row(i)?.id)).toEqual([9, 7, 4]);
    expect(feed.complete).toBe(true);
  });
});

describe("describePreview", () => {
  it("says how many and what will be skipped", () => {
    expect(describePreview("retry", { count: 3, actionable: 3, states: [] })).toBe("Retry 3 jobs?");
    expect(describePreview("retry", { count: 4, actionable: 3, states: [] })).toBe(
      "Retry 4 jobs? 1 job will be skipped: they are running or already waiting to run.",
    );
    expect(describePreview("discard", { count: 1200, actionable: 1000, states: [] })).toBe(
      "Discard 1,200 jobs? 200 jobs will be skipped: they are already finished.",
    );
    expect(describePreview("cancel", { count: 0, actionable: 0, states: [] })).toMatch(/nothing to do/);
  });
});

describe("ago", () => {
  it("reads like a person would say it", () => {
    const now = 1_000_000_000_000;
    expect(ago(now - 5_000, now)).toBe("5 s ago");
    expect(ago(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(ago(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(ago(now - 2 * 86_400_000, now)).toBe("2 d ago");
    expect(ago(now + 10_000, now)).toBe("0 s ago");
  });
});

describe("auditSubject", () => {
  it("names the jobs, or what an event about no job was about", () => {
    expect(auditSubject({ job_count: 1, details: null })).toBe("1 job");
    expect(auditSubject({ job_count: 1200, details: { shops: [{ name: "x" }] } })).toBe("1,200 jobs");
    expect(auditSubject({ job_count: 0, details: { shops: [{ id: 1, name: "Main shop" }, { id: 2, name: "EU shop" }], app_key: "k" } })).toBe("Main shop, EU shop");
    expect(auditSubject({ job_count: 0, details: { shop: "Main shop", before: {}, after: {} } })).toBe("Main shop");
    expect(auditSubject({ job_count: 0, details: { path: "/data/backups/creatorflow-20261202.db", bytes: 1 } })).toBe("/data/backups/creatorflow-20261202.db");
    expect(auditSubject({ job_count: 0, details: null })).toBe("0 jobs");
  });
});
