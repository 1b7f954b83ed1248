import { describe, expect, it } from "vitest";
import {
  ago,
  describePreview,
  emptyForm,
  isDefaultForm,
  moveCursor,
  parseArgs,
  shortcutFor,
  toFilter,
  toggled,
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

describe("moveCursor and toggled", () => {
  it("moves within the list and clamps at its ends", () => {
    const ids = [30, 20, 10];
    expect(moveCursor(ids, null, 1)).toBe(30);
    expect(moveCursor(ids, 30, 1)).toBe(20);
    expect(moveCursor(ids, 10, 1)).toBe(10);
    expect(moveCursor(ids, 30, -1)).toBe(30);
    expect(moveCursor(ids, 99, 1)).toBe(30);
    expect(moveCursor([], 1, 1)).toBeNull();
  });
  it("adds and removes ids without touching the original set", () => {
    const s = new Set([1]);
    expect([...toggled(s, 2)].sort()).toEqual([1, 2]);
    expect([...toggled(s, 1)]).toEqual([]);
    expect([...s]).toEqual([1]);
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
