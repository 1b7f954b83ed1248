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

  text(el) {
    return this.cmd("GET", `/element/${el}/text`);
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }

  type(el, text) {
    return this.cmd("POST", `/element/${el}/value`, { text });
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
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
