import { describe, expect, it } from "vitest";
import { KeysetFeed, windowRange, type FeedPage } from "./feed";

interface Row {
  id: number;
}

/** A fake engine with `total` rows, ids 0.., served in keyset pages on the last id (like the store). */
function fakeEngine(total: number, pageSize: number) {
  const calls: Array<number | null> = [];
  const fetchPage = async (after: number | null): Promise<FeedPage<Row, number>> => {
    calls.push(after);
    const start = after === null ? 0 : after + 1;
    const rows = Array.from({ length: Math.max(0, Math.min(pageSize, total - start)) }, (_, i) => ({ id: start + i }));
    const last = rows[rows.length - 1];
    return { rows, next: start + pageSize < total && last ? last.id : null };
  };
  return { calls, fetchPage };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("windowRange", () => {
  it("renders only what is visible plus overscan, clamped to the rows", () => {
    expect(windowRange(0, 400, 40, 1_000_000, 5)).toEqual({ first: 0, last: 15 });
    expect(windowRange(40 * 500_000, 400, 40, 1_000_000, 5)).toEqual({ first: 499_995, last: 500_015 });
    expect(windowRange(40 * 999_990, 800, 40, 1_000_000, 5)).toEqual({ first: 999_985, last: 1_000_000 });
    expect(windowRange(0, 400, 40, 0)).toEqual({ first: 0, last: 0 });
  });
});

describe("KeysetFeed", () => {
  it("fetches pages on the keyset cursor as the window moves, never everything", async () => {
    const engine = fakeEngine(1_000_000, 100);
    let changes = 0;
    const feed = new KeysetFeed(engine.fetchPage, 100, () => changes++, { maxPages: 5 });
    feed.ensure(0, 30);
    await settle();
    expect(feed.row(0)?.id).toBe(0);
    expect(feed.complete).toBe(false);
    // Scrolling down discovers pages one after another, each after the previous page's last row.
    for (let k = 1; k < 12; k++) {
      feed.ensure(k * 100 - 30, k * 100);
      await settle();
    }
    expect(feed.count).toBe(1200);
    expect(engine.calls.slice(0, 3)).toEqual([null, 99, 199]);
    // Only the most recently used pages keep rows; far pages drop them ...
    expect(feed.loadedPages).toBeLessThanOrEqual(6);
    expect(feed.row(5)).toBeUndefined();
    expect(feed.loadedRows().length).toBe(feed.loadedPages * 100);
    // ... and scrolling back fetches them again from their remembered cursor.
    const before = engine.calls.length;
    feed.ensure(0, 30);
    await settle();
    expect(feed.row(5)?.id).toBe(5);
    expect(engine.calls[before]).toBeNull();
    expect(changes).toBeGreaterThan(0);
  });

  it("knows when the list is complete and stops after an error until retried", async () => {
    const engine = fakeEngine(150, 100);
    const feed = new KeysetFeed(engine.fetchPage, 100, () => {});
    feed.ensure(0, 50);
    await settle();
    feed.ensure(50, 100);
    await settle();
    expect(feed.count).toBe(150);
    expect(feed.complete).toBe(true);

    let fail = true;
    const flaky = new KeysetFeed<Row, number>(async (after) => {
      if (fail) throw new Error("engine unavailable");
      return engine.fetchPage(after);
    }, 100, () => {});
    flaky.ensure(0, 10);
    await settle();
    expect(flaky.error?.message).toBe("engine unavailable");
    fail = false;
    flaky.ensure(0, 10); // ignored until retry
    await settle();
    expect(flaky.row(0)).toBeUndefined();
    flaky.retry();
    flaky.ensure(0, 10);
    await settle();
    expect(flaky.row(0)?.id).toBe(0);
  });

  it("keeps an expected height while a refreshed list walks back to the window, then the truth", async () => {
    // The list had 500 rows and the user was looking at rows 400-420; 50 rows went away meanwhile.
    const engine = fakeEngine(450, 100);
    const feed = new KeysetFeed(engine.fetchPage, 100, () => {}, { expected: 500 });
    expect(feed.count).toBe(500);
    for (let i = 0; i < 8; i++) {
      feed.ensure(400, 420);
      await settle();
    }
    // Pages 0..4 were discovered in turn (each cursor is the previous page's last id) up to the window.
    expect(engine.calls).toEqual([null, 99, 199, 299, 399]);
    expect(feed.row(400)?.id).toBe(400);
    expect(feed.complete).toBe(true);
    expect(feed.count).toBe(450);
  });

  it("drops answers that arrive after it was disposed (the filters changed)", async () => {
    const engine = fakeEngine(10, 100);
    let changes = 0;
    const feed = new KeysetFeed(engine.fetchPage, 100, () => changes++);
    feed.ensure(0, 10);
    feed.dispose();
    await settle();
    expect(feed.row(0)).toBeUndefined();
    expect(changes).toBe(0);
  });
});
