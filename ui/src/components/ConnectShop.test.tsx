import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { AuthorizationLink } from "./ConnectShop";
import { ApiError, createApi } from "../api";
import type { LiveStream } from "../api/live";
import type { Transport } from "../api/transport";

const URL_ = "https://services.tiktokshop.com/open/authorize?app_key=k&state=s&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback";
const noop = () => {};

describe("AuthorizationLink", () => {
  it("is a button in the desktop window (the opener plugin opens the system browser) and keeps Copy link", () => {
    const html = renderToStaticMarkup(<AuthorizationLink url={URL_} transport="tauri" onOpen={noop} onCopy={noop} copied={false} />);
    expect(html).toMatch(/<button[^>]*>Open in browser<\/button>/);
    expect(html).not.toContain("<a ");
    expect(html).toContain("Copy link");
    expect(html).toContain("services.tiktokshop.com/open/authorize");
  });

  it("is a plain link to a new tab in the web console, with no handle on the console's window", () => {
    const html = renderToStaticMarkup(<AuthorizationLink url={URL_} transport="http" onOpen={noop} onCopy={noop} copied />);
    const link = html.match(/<a [^>]*>Open in browser<\/a>/)?.[0] ?? "";
    expect(link).toContain('target="_blank"');
    expect(link).toMatch(/rel="[^"]*\bnoopener\b/);
    expect(link).toContain(`href="${URL_.replace(/&/g, "&amp;")}"`);
    expect(html).toContain("Copied");
  });
});

const quiet: LiveStream = { subscribe: () => noop };
const fake = (name: Transport["name"]): Transport => ({ name, call: async <T,>() => ({}) as T });

describe("openInBrowser", () => {
  it("hands http(s) links to the desktop's opener", async () => {
    const opened: string[] = [];
    const api = createApi(fake("tauri"), quiet, async (url) => void opened.push(url));
    await api.openInBrowser(URL_);
    await api.openInBrowser("http://127.0.0.1:7/sandbox/oauth/authorize?x=1");
    expect(opened).toEqual([URL_, "http://127.0.0.1:7/sandbox/oauth/authorize?x=1"]);
  });

  it("refuses other schemes before the IPC does, and says why", async () => {
    const api = createApi(fake("tauri"), quiet, async () => {
      throw new Error("must not be called");
    });
    for (const bad of ["file:///etc/passwd", "javascript:alert(1)", "not a url"]) {
      await expect(api.openInBrowser(bad)).rejects.toMatchObject({ kind: "invalid_input" });
    }
  });

  it("reports the plugin's refusal as an ApiError, and is desktop only", async () => {
    const api = createApi(fake("tauri"), quiet, async () => {
      throw "Not allowed to open url https://x.example";
    });
    const err = await api.openInBrowser("https://x.example").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toContain("Not allowed");
    await expect(createApi(fake("http"), quiet).openInBrowser(URL_)).rejects.toMatchObject({ kind: "unsupported" });
  });
});
