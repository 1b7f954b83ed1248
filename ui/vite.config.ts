// Vite builds ui/dist, which the desktop app embeds (tauri.conf.json build.frontendDist) and the web
// console will serve. Relative asset URLs would also work, but absolute '/' matches both hosts.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  base: "/",
  // The WebKitGTK webview on Debian 12 (2.50) and any current browser handle ES2022.
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: false },
  // A fixed loopback port for `vite preview` so browser tests know where to look.
  preview: { port: 4173, strictPort: true, host: "127.0.0.1" },
  test: { include: ["src/**/*.test.{ts,tsx}"], environment: "node" },
});
