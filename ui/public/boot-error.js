// Loaded before the app's module (a plain script: the CSP allows no inline script). If the bundle fails
// to load or throws before React mounts, the window shows the error instead of staying blank.
window.addEventListener("error", function (event) {
  var root = document.getElementById("root");
  if (!root || root.childElementCount > 0) return;
  var box = document.createElement("pre");
  box.setAttribute("role", "alert");
  box.style.cssText = "margin:24px;white-space:pre-wrap;font:13px monospace";
  box.textContent = "The console failed to start: " + (event.message || "unknown error") +
    (event.filename ? "\n" + event.filename + ":" + event.lineno + ":" + event.colno : "") +
    (event.error && event.error.stack ? "\n" + event.error.stack : "");
  root.appendChild(box);
});
