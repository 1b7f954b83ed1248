// A minimal W3C WebDriver client over fetch: enough to drive the desktop app through tauri-driver
// (sessions, finding elements, clicks, typing, text, screenshots) without another dependency.
import { writeFileSync } from "node:fs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecc";

export class WebDriver {
  constructor(base, sessionId) {
    this.base = base;
    this.sessionId = sessionId;
  }

  /** Opens a session, retrying while tauri-driver accepts before WebKitWebDriver behind it is ready. */
  static async connect(base, capabilities, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const value = await request("POST", `${base}/session`, { capabilities: { alwaysMatch: capabilities } });
        return new WebDriver(base, value.sessionId);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`no WebDriver session at ${base}: ${e.message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  cmd(method, path, body) {
    return request(method, `${this.base}/session/${this.sessionId}${path}`, body);
  }

  async find(css) {
    return elementId(await this.cmd("POST", "/element", { using: "css selector", value: css }));
  }

  async findAll(css) {
    const value = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return value.map(elementId);
  }

  /** Waits until `css` matches an element (and `predicate(text)` holds, when given). */
  async waitFor(css, { timeoutMs = 30_000, predicate } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      const found = await this.findAll(css).catch(() => []);
      for (const el of found) {
        last = await this.text(el).catch(() => "");
        if (!predicate || predicate(last)) return el;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${css}${predicate ? ` (last text ${JSON.stringify(last)})` : ""}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Elements matching `css` inside `el`. */
  async findAllIn(el, css) {
    const value = await this.cmd("POST", `/element/${el}/elements`, { using: "css selector", value: css });
    return value.map(elementId);
  }

  /**
   * Polls `probe` (an async function) until it returns a truthy value, and returns that value. Errors
   * thrown by the probe count as "not yet": React replaces elements as it re-renders, so a reference
   * found a moment ago can be stale by the time it is read. `detail()` adds what was seen last to the
   * timeout's message.
   */
  async until(probe, { timeoutMs = 30_000, intervalMs = 250, what = "a condition", detail } = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastError;
    for (;;) {
      try {
        const value = await probe();
        if (value) return value;
      } catch (e) {
        lastError = e;
      }
      if (Date.now() > deadline) {
        const seen = detail ? `; ${detail()}` : "";
        throw new Error(`timed out waiting for ${what}${seen}${lastError ? ` (last error: ${lastError.message})` : ""}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /**
   * Clicks the first element matching `css` (whose text passes `predicate`, when given), finding it
   * again if React replaced it between the find and the click.
   */
  clickOn(css, { timeoutMs = 30_000, predicate } = {}) {
    return this.until(
      async () => {
        for (const el of await this.findAll(css)) {
          if (!predicate || predicate(await this.text(el))) {
            await this.click(el);
            return true;
          }
        }
        return false;
      },
      { timeoutMs, what: `${css} to click` },
    );
  }

  text(el) {
    return this.cmd("GET", `/element/${el}/text`);
  }

  /**
   * A DOM property, e.g. "textContent": unlike `text` (the rendered text), it does not depend on the
   * driver judging the element visible, which WebKitWebDriver gets wrong for absolutely positioned
   * rows inside a scroller (the virtualized tables).
   */
  property(el, name) {
    return this.cmd("GET", `/element/${el}/property/${name}`);
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }

  clear(el) {
    return this.cmd("POST", `/element/${el}/clear`, {});
  }

  type(el, text) {
    return this.cmd("POST", `/element/${el}/value`, { text });
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Runs `script` with a callback as its last argument; resolves with what it passes the callback. */
  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  async screenshot(path) {
    const png = await this.cmd("GET", "/screenshot");
    writeFileSync(path, Buffer.from(png, "base64"));
  }

  close() {
    return request("DELETE", `${this.base}/session/${this.sessionId}`);
  }
}

/** W3C names the element reference by a fixed key; older drivers say `ELEMENT`. */
function elementId(ref) {
  return ref[ELEMENT] ?? ref.ELEMENT ?? Object.values(ref)[0];
}

async function request(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok || json.value?.error) {
    throw new Error(`${method} ${url}: ${response.status} ${json.value?.error ?? ""} ${json.value?.message ?? ""}`.trim());
  }
  return json.value;
}
