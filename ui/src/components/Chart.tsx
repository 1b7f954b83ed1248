// A uPlot time-series chart. uPlot draws on a canvas, so the theme's CSS variables are read into real
// colors when the chart is created, and the chart is created again when the system theme changes.
// Data updates go through `setData` (no re-creation), so a chart updating every second stays cheap.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Columns } from "../lib/liveSeries";

export interface SeriesSpec {
  label: string;
  /** A CSS variable of styles.css, e.g. `--accent`. */
  color: string;
  dash?: number[];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

function useSystemTheme(): string {
  const query = "(prefers-color-scheme: dark)";
  const [theme, setTheme] = useState(() => (typeof matchMedia === "function" && matchMedia(query).matches ? "dark" : "light"));
  useEffect(() => {
    if (typeof matchMedia !== "function") return;
    const m = matchMedia(query);
    const on = () => setTheme(m.matches ? "dark" : "light");
    m.addEventListener("change", on);
    return () => m.removeEventListener("change", on);
  }, []);
  return theme;
}

export function Chart({
  title,
  series,
  data,
  format,
  log = false,
  height = 220,
}: {
  title: string;
  series: SeriesSpec[];
  data: Columns;
  /** The y axis' and legend's value format. */
  format: (value: number) => string;
  /** A log-10 y axis: latencies from milliseconds to hours share one chart. */
  log?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // A log scale cannot place 0: those points become gaps.
  const shaped = log ? (data.map((col, i) => (i === 0 ? col : col.map((v) => (v !== null && v > 0 ? v : null)))) as Columns) : data;
  const latest = useRef(shaped);
  latest.current = shaped;
  const theme = useSystemTheme();
  const seriesKey = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const muted = cssVar("--muted");
    const grid = cssVar("--border");
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.color),
          width: 2,
          ...(s.dash ? { dash: s.dash } : {}),
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : format(v)),
        })),
      ],
      axes: [
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 80, values: (_u, vals) => vals.map((v) => (v === null ? "" : format(v))),
          // On a log axis only the decades get a grid line and a label; the minor ticks are noise.
          ...(log ? { filter: (_u: uPlot, splits: number[]) => splits.map((v) => (Number.isInteger(Math.round(Math.log10(v) * 1e6) / 1e6) ? v : null)) } : {}) },
      ],
      scales: {
        x: { time: true },
        y: log ? { distr: 3, log: 10 } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      cursor: { drag: { x: false, y: false } },
    };
    const p = new uPlot(opts, latest.current as uPlot.AlignedData, el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(el.clientWidth, 300), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // Re-created only when the series or the theme change; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [seriesKey, theme, height, log]);

  useEffect(() => {
    plot.current?.setData(latest.current as uPlot.AlignedData);
  }, [data]);

  return (
    <figure className="chart" aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div ref={box} className="chart-canvas" role="img" aria-label={`${title}: ${series.map((s) => s.label).join(", ")}`} />
    </figure>
  );
}
