// Hash routing (`#/orders`): works from the Tauri asset protocol and from `serve` alike, survives a
// reload, and lets tests open a screen directly. `g` then a screen's key jumps to it.
import { useEffect, useState } from "react";

export function currentPath(hash: string = window.location.hash): string {
  return hash.replace(/^#\/?/, "").split(/[?/]/)[0] ?? "";
}

export function useRoute(keys: Record<string, string>): string {
  const [path, setPath] = useState(() => currentPath());
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    let pendingG = false;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (pendingG && keys[e.key]) {
        window.location.hash = `#/${keys[e.key]}`;
        pendingG = false;
        return;
      }
      pendingG = e.key === "g";
    };
    window.addEventListener("hashchange", onHash);
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("hashchange", onHash);
      window.removeEventListener("keydown", onKey);
    };
  }, [keys]);
  return path;
}
