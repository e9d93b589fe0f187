// The embeddable widget: `<div id="livethread" data-site data-thread>` + this script.

import { whenNear } from "./visibility.js";
import { Widget } from "./widget.js";

// The server that served this script is the one to talk to (unless data-api says otherwise).
const script = document.currentScript;
const base = script instanceof HTMLScriptElement && script.src ? new URL(script.src).origin : location.origin;

function mount() {
  for (const host of document.querySelectorAll("#livethread, [data-livethread]")) {
    if (host instanceof HTMLElement && !host.shadowRoot) {
      const widget = new Widget(host, base);
      whenNear(host, () => widget.start());
    }
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
