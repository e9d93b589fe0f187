// The embeddable widget: `<div id="livethread" data-site data-thread>` + this script.

import { words } from "./strings.js";
import { whenNear } from "./visibility.js";
import { Widget } from "./widget.js";

// The server that served this script is the one to talk to (unless data-api says otherwise).
const script = document.currentScript;
const base = script instanceof HTMLScriptElement && script.src ? new URL(script.src).origin : location.origin;

// Hosts already taken: the widget attaches its shadow root only once its language has loaded,
// so a second mount() meanwhile must not see the host as free.
/** @type {WeakSet<Element>} */
const taken = new WeakSet();

function mount() {
  for (const host of document.querySelectorAll("#livethread, [data-livethread]")) {
    if (host instanceof HTMLElement && !host.shadowRoot && !taken.has(host)) {
      taken.add(host);
      // Asked for at once, so the language's file loads while the page does.
      words(host.dataset.lang || document.documentElement.lang || navigator.language, base).then((found) => {
        const widget = new Widget(host, base, found);
        whenNear(host, () => widget.start());
      });
    }
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
