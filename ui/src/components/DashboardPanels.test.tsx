import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { snapshot } from "../lib/testSnapshot";
import { AlertList, BreakerTable, LatencyTable, StatTiles } from "./DashboardPanels";

describe("dashboard panels", () => {
  it("shows the figures, with the cache hit rate's definition as its tooltip", () => {
    const html = renderToStaticMarkup(<StatTiles s={snapshot()} />);
    expect(html).toContain("42.0");
    expect(html).toContain("2 / 9");
    expect(html).toContain("99.1%");
    expect(html).toContain('title="SQLite page cache"');
    expect(html).toContain("80.0 MB");
    expect(html).not.toContain("tile-bad");
  });

  it("says what a rate was counted on while the window is under a minute", () => {
    const full = renderToStaticMarkup(<StatTiles s={snapshot()} />);
    expect(full).toContain("shipped over the last minute");
    expect(full).not.toContain(" in 2 s");
    const early = snapshot({ window_ms: 2_000, throughput: { orders_shipped_per_min: 2_700, api_calls_per_min: 0, webhooks_per_min: 0 } });
    const html = renderToStaticMarkup(<StatTiles s={early} />);
    expect(html).toContain("90 in 2 s");
    expect(html).toContain("since start: 90 shipped in 2 s, scaled to a minute");
  });

  it("marks the tile of a firing alert", () => {
    const s = snapshot({
      alerts: [{ id: "queue_depth", severity: "warning", title: "900 jobs are waiting to run", value: 900, threshold: 500, unit: "jobs", since_ms: 0, firing: 1, action: "Raise the worker count." }],
    });
    expect(renderToStaticMarkup(<StatTiles s={s} />)).toContain("tile tile-warn");
  });

  it("lists alerts with what to do, or says there are none", () => {
    expect(renderToStaticMarkup(<AlertList alerts={[]} />)).toContain("No alerts");
    const html = renderToStaticMarkup(
      <AlertList
        alerts={[{ id: "api_latency_critical", severity: "critical", title: "TikTok API p95 is 1200 ms on GET /x", value: 1200, threshold: 1000, unit: "ms", since_ms: 0, firing: 2, action: "Check your network." }]}
      />,
    );
    expect(html).toContain("alert-critical");
    expect(html).toContain("Check your network.");
    expect(html).toContain("threshold 1.0 s");
  });

  it("shows breakers, and says so when they are not known here", () => {
    const b = snapshot().breakers;
    expect(renderToStaticMarkup(<BreakerTable breakers={b} known />)).toContain("Connected");
    expect(renderToStaticMarkup(<BreakerTable breakers={[]} known={false} />)).toContain("Not known here");
    const open = [{ ...b[0]!, state: "open", consecutive_failures: 4, next_probe_at_ms: 1000 }];
    expect(renderToStaticMarkup(<BreakerTable breakers={open} known />)).toContain("breaker-open");
  });

  it("lists every latency row with its percentiles", () => {
    const html = renderToStaticMarkup(<LatencyTable rows={snapshot().latency} />);
    expect(html.match(/<tbody>.*<\/tbody>/s)?.[0].match(/<tr/g)).toHaveLength(4);
    expect(html).toContain("4.2 s");
    expect(html).toContain("Stage run");
  });
});
