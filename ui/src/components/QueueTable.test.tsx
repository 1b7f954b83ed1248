import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { QueueTable } from "./QueueTable";

describe("QueueTable", () => {
  it("shows a clear empty state when there are no jobs", () => {
    const html = renderToStaticMarkup(<QueueTable counts={[]} />);
    expect(html).toContain("No jobs yet");
    expect(html).not.toContain("<table");
  });

  it("renders one row per queue and kind with formatted counts and a totals footer", () => {
    const html = renderToStaticMarkup(
      <QueueTable
        counts={[
          { queue: "fulfillment", kind: "ship_package", state: "completed", count: 12345 },
          { queue: "fulfillment", kind: "ship_package", state: "discarded", count: 2 },
          { queue: "sync", kind: "pull_orders", state: "running", count: 1 },
        ]}
      />,
    );
    expect(html).toContain("<table");
    expect(html.match(/<tbody>.*<\/tbody>/s)?.[0].match(/<tr/g)).toHaveLength(2);
    expect(html).toContain('<th scope="row">fulfillment</th>');
    expect(html).toContain("12,345");
    // The footer's grand total: 12345 + 2 + 1.
    expect(html).toMatch(/<tfoot>.*12,348.*<\/tfoot>/s);
    expect(html).toContain('class="num state-discarded"');
  });
});
