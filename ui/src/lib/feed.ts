// The rows behind a virtualized list, fetched in keyset pages as the user scrolls: one implementation
// for every long list of the console (orders, failed jobs), generic over the row and the cursor type,
// free of React so it is unit-tested in node. `windowRange` is the matching "which rows are on screen".

/** One page as a feed sees it: its rows and the cursor of the page after it (null: the last page). */
export interface FeedPage<Row, Cursor> {
  rows: Row[];
  next: Cursor | null;
}

/** The rows to render for a scroll position: `[first, last)` plus `overscan` rows each side. */
export function windowRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 8,
): { first: number; last: number } {
  if (count <= 0 || rowHeight <= 0) return { first: 0, last: 0 };
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + Math.max(viewport, 0)) / rowHeight) + overscan);
  return { first: Math.min(first, last), last };
}

interface Page<Row, Cursor> {
  /** The cursor this page starts after (null: the first page). */
  after: Cursor | null;
  rows: Row[] | null;
  /** Rows the page held when it was fetched (kept when its rows are evicted). */
  size: number;
  loading: boolean;
  /** Last time the page was needed on screen, for eviction. */
  used: number;
}

export interface FeedOptions {
  /** Pages that keep their rows in memory; the least recently shown lose them first. */
  maxPages?: number;
  /**
   * Rows the list is expected to hold until the feed knows better (e.g. the count of the feed this one
   * replaces after a refresh). The list's height stays while the pages are fetched again, so the
   * browser does not clamp the scroll position to a one-page list; it shrinks to the truth once the
   * last page has been seen.
   */
  expected?: number;
}

/**
 * Pages fetched on the engine's keyset cursor as the window moves. Only pages near the viewport keep
 * their rows (at most `maxPages`); a page scrolled far away drops them and is fetched again from its
 * remembered cursor when it comes back, so a list over a million rows never holds more than a few
 * thousand. `onChange` fires when rows arrive or a fetch fails.
 */
export class KeysetFeed<Row, Cursor> {
  private pages: Page<Row, Cursor>[] = [];
  private nextCursor: Cursor | null = null;
  private done = false;
  private disposed = false;
  private tick = 0;
  private readonly maxPages: number;
  private readonly expected: number;
  error: Error | null = null;

  constructor(
    private readonly fetchPage: (after: Cursor | null) => Promise<FeedPage<Row, Cursor>>,
    readonly pageSize: number,
    private readonly onChange: () => void,
    options: FeedOptions = {},
  ) {
    this.maxPages = options.maxPages ?? 40;
    this.expected = options.expected ?? 0;
  }

  /** Rows known so far; grows as pages arrive. */
  get known(): number {
    let n = 0;
    for (const p of this.pages) n += p.rows ? p.rows.length : p.size;
    return n;
  }

  /** The list's length for its height: the rows known, or the expected count while more may come. */
  get count(): number {
    return this.done ? this.known : Math.max(this.known, this.expected);
  }

  /** Whether every matching row has been seen (the count is final). */
  get complete(): boolean {
    return this.done;
  }

  /** Whether a page is being fetched. */
  get loading(): boolean {
    return this.pages.some((p) => p.loading);
  }

  /** The row at `index`, or undefined while its page is (re)loading or not yet discovered. */
  row(index: number): Row | undefined {
    const page = this.pages[Math.floor(index / this.pageSize)];
    return page?.rows?.[index % this.pageSize];
  }

  /** Pages whose rows are in memory (for tests and the status line). */
  get loadedPages(): number {
    return this.pages.filter((p) => p.rows !== null).length;
  }

  /** The rows in memory, in list order (a table's "what is loaded"; not every matching row). */
  loadedRows(): Row[] {
    return this.pages.flatMap((p) => p.rows ?? []);
  }

  /** Makes sure rows `[first, last)` are (being) fetched, and the page after them when near the end. */
  ensure(first: number, last: number): void {
    // After a failure nothing is fetched until `retry()`: a dead transport is not hammered on every render.
    if (this.disposed || this.error) return;
    this.tick += 1;
    if (this.pages.length === 0) {
      this.pages.push({ after: null, rows: null, size: 0, loading: false, used: this.tick });
    }
    const lastPage = Math.floor(Math.max(last - 1, first) / this.pageSize);
    for (let k = Math.floor(first / this.pageSize); k <= lastPage && k < this.pages.length; k++) {
      const page = this.pages[k]!;
      page.used = this.tick;
      if (!page.rows && !page.loading) void this.load(k);
    }
    // Near the end of what is known: discover the next page (its cursor is the last page's `next`).
    // A window past the known pages (an expected count, or a jump) keeps discovering one page per answer.
    const tail = this.pages[this.pages.length - 1]!;
    if (!tail.rows && !tail.loading && lastPage >= this.pages.length) void this.load(this.pages.length - 1);
    if (!this.done && tail.rows && lastPage >= this.pages.length - 2 && this.nextCursor !== null) {
      this.pages.push({ after: this.nextCursor, rows: null, size: 0, loading: false, used: this.tick });
      this.nextCursor = null;
      void this.load(this.pages.length - 1);
    }
  }

  /** Forget the feed: answers still in flight are dropped. */
  dispose(): void {
    this.disposed = true;
  }

  /** Fetch the pages that failed again (after an error). */
  retry(): void {
    this.error = null;
    this.onChange();
  }

  private async load(k: number): Promise<void> {
    const page = this.pages[k]!;
    page.loading = true;
    try {
      const result = await this.fetchPage(page.after);
      if (this.disposed) return;
      page.rows = result.rows;
      page.size = result.rows.length;
      if (k === this.pages.length - 1) {
        if (result.next === null) this.done = true;
        else this.nextCursor = result.next;
      }
      this.error = null;
      this.evict();
    } catch (reason) {
      if (this.disposed) return;
      this.error = reason instanceof Error ? reason : new Error(String(reason));
    } finally {
      page.loading = false;
    }
    if (!this.disposed) this.onChange();
  }

  private evict(): void {
    const loaded = this.pages.filter((p) => p.rows !== null && !p.loading);
    if (loaded.length <= this.maxPages) return;
    // The last page keeps its rows: its `next` is what extends the list.
    const tail = this.pages[this.pages.length - 1];
    loaded.sort((a, b) => a.used - b.used);
    for (const p of loaded.slice(0, loaded.length - this.maxPages)) {
      if (p !== tail) p.rows = null;
    }
  }
}
