// Entry point: mounts the console into #root.
// First: makes navigator.language usable for Intl before any module (uPlot) reads it.
import "./lib/locale";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { markOnce } from "./lib/marks";
import "./styles.css";

markOnce("cf:script");
const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
