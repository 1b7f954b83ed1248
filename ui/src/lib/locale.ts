// Imported first by main.tsx, before uPlot: uPlot builds an `Intl.NumberFormat(navigator.language)` when
// its module loads, and WebKitGTK reports the POSIX locale "C" as the language when LANG is C or unset
// (minimal desktops, Xvfb), which Intl rejects with a RangeError — the whole bundle would fail to load.
export function usableLanguage(language: string | undefined): string {
  if (!language) return "en-US";
  try {
    new Intl.NumberFormat(language);
    return language;
  } catch {
    return "en-US";
  }
}

if (typeof navigator !== "undefined") {
  const language = usableLanguage(navigator.language);
  if (language !== navigator.language) {
    Object.defineProperty(navigator, "language", { get: () => language, configurable: true });
  }
}
