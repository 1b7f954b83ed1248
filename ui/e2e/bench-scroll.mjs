// Scroll benchmark (issue 5: "at 1,000,000 cached orders ... scrolling the orders table never blocks the
// UI thread"). Starts `creatorflow-cli serve --read-only` on a large order database (seed one with
// `creatorflow-cli --database sqlite://PATH bench orders --orders 1000000`), opens the Orders screen in
// headless chromium at 1280×800, and records on the page's main thread, per phase:
// - long tasks (PerformanceObserver "longtask": a task over 50 ms, the W3C definition of blocking),
//   and from a Chromium trace the same tasks' thread CPU time (on a shared machine a task can be long
//   because the thread waited for a core, not because the page worked);
// - frame intervals (requestAnimationFrame deltas: p50 / p99 / max, and frames over 50 ms);
// - how deep the table got (rows known to the feed) and the share of frames whose viewport still
//   showed "Loading…" placeholder rows (rows not there yet: the server, not the UI thread).
// Phases: `check` (a deliberate 120 ms task: the instruments must see it), `wheel` (mouse-wheel steps at a steady pace, a person scrolling through many pages),
// `drag` (scrollTop moved by a screenful every frame: the scrollbar dragged down, the hardest case),
// `keys` (PageDown held), and `search` (search as you type: queries typed a key at a time, each result
// scrolled with the wheel).
// A benchmark, not a test: it prints figures and asserts nothing about them (BENCHMARKS.md records them).
// Run: node ui/e2e/bench-scroll.mjs --database sqlite:///tmp/cf-bench-1m/orders.db [--wheel-steps 600]
//      [--drag-frames 600] [--cpu-throttle 4] [--json]   (binary: CREATORFLOW_CLI, default target/debug/creatorflow-cli;
//      ui/dist must be built and embedded, i.e. the cli built after `npm --prefix ui run build`)
import { loadavg } from "node:os";
import { browser, openPage, serve } from "./harness.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const database = opt("--database", process.env.CREATORFLOW_DATABASE_URL);
if (!database) {
  console.error("usage: node ui/e2e/bench-scroll.mjs --database sqlite:///PATH/orders.db [--wheel-steps N] [--drag-frames N] [--json]");
  process.exit(2);
}
const wheelSteps = Number(opt("--wheel-steps", "600"));
const dragFrames = Number(opt("--drag-frames", "600"));
const json = args.includes("--json");
// Chromium's CPU throttling (DevTools' "4× slowdown"): the page's main thread as on a slower laptop.
const cpuThrottle = Number(opt("--cpu-throttle", "1"));
const log = (...m) => !json && console.error(...m);

/**
 * Installed in the page: a long-task observer and a requestAnimationFrame loop, both writing into
 * `window.__bench`, which `start` resets and `stop` reads. Each frame also notes whether a placeholder
 * row is inside the scroller's viewport, read in a task after the frame (layout is clean then, so the
 * read forces no layout of its own; it is part of what is measured, so it can only make the figures
 * worse).
 */
function install() {
  const b = { on: false, longtasks: [], loafs: [], frames: [], pendingFrames: 0, last: 0 };
  window.__bench = b;
  new PerformanceObserver((list) => {
    if (!b.on) return;
    for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask" });
  // Long animation frames (Chromium's LoAF) say what a slow frame spent its time on.
  new PerformanceObserver((list) => {
    if (!b.on) return;
    for (const e of list.getEntries()) {
      if (e.duration <= 50) continue;
      b.loafs.push({
        duration: Math.round(e.duration),
        blocking: Math.round(e.blockingDuration),
        render: Math.round(e.startTime + e.duration - e.renderStart),
        style_layout: Math.round(e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0),
        scripts: e.scripts.map((x) => `${x.invoker} ${Math.round(x.duration)}ms`),
      });
    }
  }).observe({ type: "long-animation-frame" });
  const placeholders = () => {
    const sc = document.querySelector(".orders-scroll");
    if (!sc || !b.on) return;
    const top = sc.scrollTop;
    const bottom = top + sc.clientHeight;
    for (const r of sc.querySelectorAll(".orders-row-pending")) {
      const y = r.offsetTop;
      if (y + r.offsetHeight > top && y < bottom) {
        b.pendingFrames += 1;
        return;
      }
    }
  };
  const tick = (t) => {
    if (b.on) {
      if (b.last) b.frames.push(t - b.last);
      setTimeout(placeholders, 0);
    }
    b.last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** The renderer's own totals (CDP Performance.getMetrics, seconds): where the main thread's time went. */
let cdp = null;
const TIMES = ["TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"];
async function metrics() {
  const { metrics: m } = await cdp.send("Performance.getMetrics");
  return Object.fromEntries(m.filter((x) => TIMES.includes(x.name)).map((x) => [x.name, x.value]));
}
let metrics0 = null;

/**
 * The renderer main thread's tasks from a Chromium trace ("toplevel" RunTask events): each has its
 * wall duration and its thread CPU time. On a loaded machine a task can take 50 ms of wall time while
 * the thread waited for a core; its CPU time says how much of that was the page's own work.
 */
function mainThreadTasks(trace) {
  const events = JSON.parse(trace.toString("utf8")).traceEvents ?? [];
  const main = events.filter((e) => e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain");
  const threads = new Set(main.map((e) => `${e.pid}:${e.tid}`));
  return events
    .filter((e) => e.ph === "X" && e.name === "ThreadControllerImpl::RunTask" && threads.has(`${e.pid}:${e.tid}`))
    .map((e) => ({ wall: e.dur / 1000, cpu: (e.tdur ?? e.dur) / 1000 }));
}
let tracingBrowser = null;

async function start(page) {
  await tracingBrowser.startTracing(page, { categories: ["toplevel", "disabled-by-default-devtools.timeline"] });
  metrics0 = await metrics();
  await page.evaluate(() => {
    const b = window.__bench;
    Object.assign(b, { on: true, longtasks: [], loafs: [], frames: [], pendingFrames: 0, last: 0 });
  });
}
async function stop(page) {
  const raw = await page.evaluate(() => {
    const b = window.__bench;
    b.on = false;
    return { longtasks: b.longtasks, loafs: b.loafs, frames: b.frames, pendingFrames: b.pendingFrames };
  });
  const m1 = await metrics();
  const tasks = mainThreadTasks(await tracingBrowser.stopTracing());
  raw.tasks = { over50Wall: tasks.filter((t) => t.wall > 50), over50Cpu: tasks.filter((t) => t.cpu > 50) };
  // Main-thread time per frame, split: all tasks, script, layout, style (ms per frame).
  const per = (k) => (raw.frames.length === 0 ? 0 : +((1000 * (m1[k] - metrics0[k])) / raw.frames.length).toFixed(2));
  return { ...raw, perFrame: { task: per("TaskDuration"), script: per("ScriptDuration"), layout: per("LayoutDuration"), style: per("RecalcStyleDuration") } };
}

const quantile = (sorted, q) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);

function summarize(name, raw, extra) {
  const f = [...raw.frames].sort((a, b) => a - b);
  const lt = raw.longtasks.map((t) => t.duration).sort((a, b) => a - b);
  return {
    phase: name,
    frames: f.length,
    frame_p50_ms: +quantile(f, 0.5).toFixed(1),
    frame_p99_ms: +quantile(f, 0.99).toFixed(1),
    frame_max_ms: +(f[f.length - 1] ?? 0).toFixed(1),
    frames_over_50ms: f.filter((d) => d > 50).length,
    long_tasks: lt.length,
    long_task_max_ms: +(lt[lt.length - 1] ?? 0).toFixed(1),
    long_task_total_ms: +lt.reduce((a, b) => a + b, 0).toFixed(1),
    // From the trace: main-thread tasks over 50 ms of wall time, and over 50 ms of the thread's CPU
    // time (the page's own work; the difference is time the thread waited for a core).
    trace_tasks_over_50ms_wall: raw.tasks.over50Wall.length,
    trace_tasks_over_50ms_cpu: raw.tasks.over50Cpu.length,
    trace_task_max_cpu_ms: +Math.max(0, ...raw.tasks.over50Wall.map((t) => t.cpu), ...raw.tasks.over50Cpu.map((t) => t.cpu)).toFixed(1),
    main_thread_ms_per_frame: raw.perFrame,
    // The three slowest animation frames over 50 ms and what ran in them.
    slowest_frames: [...raw.loafs].sort((x, y) => y.duration - x.duration).slice(0, 3),
    placeholder_frames_pct: f.length === 0 ? 0 : +((100 * raw.pendingFrames) / f.length).toFixed(1),
    ...extra,
  };
}

/** Rows the feed knows (the count line: "12,345+ orders" or "12,345 orders"). */
async function rowsKnown(page) {
  const text = (await page.locator(".orders-count").textContent()) ?? "";
  const m = /([\d,]+)\+? orders?/.exec(text);
  return m ? Number(m[1].replace(/,/g, "")) : 0;
}

async function main() {
  const load0 = loadavg()[0];
  const b = await browser();
  tracingBrowser = b;
  const s = await serve(["--read-only", "--database", database]);
  const results = [];
  try {
    const { page, errors } = await openPage(b);
    await page.goto(`${s.url.replace(/\/$/, "")}/#/orders`);
    const rows = page.locator(".orders-spacer .orders-row:not(.orders-row-pending)");
    await rows.nth(3).waitFor({ timeout: 60_000 });
    await page.evaluate(install);
    cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    if (cpuThrottle > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: cpuThrottle });
    const scroller = page.getByLabel("Order rows: arrow keys move, Enter opens");
    const box = await scroller.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForTimeout(500);

    // The instruments' self-check: a deliberate 120 ms task must show as one long task and a long frame
    // (zeros below mean nothing blocked, not that nothing was measured).
    await start(page);
    await page.waitForTimeout(200);
    await page.evaluate(() => {
      setTimeout(() => {
        const end = performance.now() + 120;
        while (performance.now() < end);
      }, 0);
    });
    await page.waitForTimeout(400);
    results.push(summarize("check", await stop(page), {}));

    // wheel: 100 px notches (a mouse wheel's step), 4 per frame-ish burst every 16 ms: ~25 rows/frame.
    log(`wheel: ${wheelSteps} steps`);
    await start(page);
    for (let i = 0; i < wheelSteps; i++) {
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(16);
    }
    await page.waitForTimeout(500);
    results.push(summarize("wheel", await stop(page), { rows_known: await rowsKnown(page), scroll_top_px: await scroller.evaluate((el) => el.scrollTop) }));

    // drag: a screenful further every animation frame, driven from inside the page.
    log(`drag: ${dragFrames} frames`);
    await start(page);
    await scroller.evaluate(
      (el, frames) =>
        new Promise((done) => {
          let n = 0;
          const step = () => {
            el.scrollTop += el.clientHeight;
            if (++n < frames) requestAnimationFrame(step);
            else done();
          };
          requestAnimationFrame(step);
        }),
      dragFrames,
    );
    await page.waitForTimeout(500);
    results.push(summarize("drag", await stop(page), { rows_known: await rowsKnown(page), scroll_top_px: await scroller.evaluate((el) => el.scrollTop) }));

    // keys: PageDown held (the grid's keyboard paging), 300 presses at the key-repeat rate (~30/s).
    log("keys: 300 × PageDown");
    await scroller.focus();
    await start(page);
    for (let i = 0; i < 300; i++) {
      await page.keyboard.press("PageDown");
      await page.waitForTimeout(33);
    }
    await page.waitForTimeout(500);
    results.push(summarize("keys", await stop(page), { rows_known: await rowsKnown(page) }));

    // search as you type: each query typed a key at a time (120 ms apart, a fast typist), its results
    // scrolled with the wheel, then cleared.
    const queries = ["maria gar", "mug-123", "rm2953", "james", "sku"];
    log(`search: ${queries.join(", ")}`);
    const box2 = page.getByRole("searchbox");
    await start(page);
    for (const q of queries) {
      await box2.click();
      for (const ch of q) {
        await page.keyboard.type(ch);
        await page.waitForTimeout(120);
      }
      await page.waitForTimeout(600);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 0; i < 40; i++) {
        await page.mouse.wheel(0, 400);
        await page.waitForTimeout(16);
      }
      await box2.fill("");
      await page.waitForTimeout(400);
    }
    results.push(summarize("search", await stop(page), {}));

    if (errors.length) throw new Error(`page errors: ${errors.map(String).join("; ")}`);
    await page.close();
  } finally {
    await s.stop();
    await b.close();
  }
  const report = { database, cpu_throttle: cpuThrottle, load_avg_1m: [+load0.toFixed(2), +loadavg()[0].toFixed(2)], phases: results };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`load average ${report.load_avg_1m.join(" → ")}; CPU throttling ${cpuThrottle}×`);
    for (const r of results) {
      console.log(
        `${r.slowest_frames.length ? `        slowest: ${JSON.stringify(r.slowest_frames)}\n` : ""}${r.phase.padEnd(7)} frames ${String(r.frames).padStart(5)}  p50 ${r.frame_p50_ms.toFixed(1).padStart(5)} ms  p99 ${r.frame_p99_ms.toFixed(1).padStart(6)} ms  max ${r.frame_max_ms.toFixed(1).padStart(6)} ms  >50ms ${String(r.frames_over_50ms).padStart(3)}  long tasks ${String(r.long_tasks).padStart(3)} (max ${r.long_task_max_ms} ms, total ${r.long_task_total_ms} ms; trace: ${r.trace_tasks_over_50ms_wall} over 50 ms wall, ${r.trace_tasks_over_50ms_cpu} over 50 ms CPU)  per frame: task ${r.main_thread_ms_per_frame.task} / script ${r.main_thread_ms_per_frame.script} / layout ${r.main_thread_ms_per_frame.layout} / style ${r.main_thread_ms_per_frame.style} ms  placeholder frames ${r.placeholder_frames_pct}%${r.rows_known !== undefined ? `  rows known ${r.rows_known.toLocaleString("en-US")}` : ""}`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
