// Lazy start: a thread far below the fold costs the reader nothing (no snapshot, no socket)
// until they scroll near it.

// How far outside the viewport the widget starts loading, so it is ready when it scrolls in.
export const MARGIN = "800px";

/**
 * Whether to start at once: a `#comment-ID` link names a comment to scroll to, and the
 * moderators' page is the thread itself.
 * @param {HTMLElement} host
 */
export function eager(host) {
  return host.dataset.moderate !== undefined || /^#comment-/.test(location.hash);
}

/**
 * Call `start` once, when `host` comes within MARGIN of the viewport, or at once when it must
 * start now (see `eager`) or the browser cannot tell (no IntersectionObserver).
 * @param {HTMLElement} host
 * @param {() => void} start
 */
export function whenNear(host, start) {
  if (eager(host) || typeof IntersectionObserver !== "function") return void start();
  const go = () => {
    observer.disconnect();
    removeEventListener("hashchange", linked);
    start();
  };
  const linked = () => eager(host) && go();
  const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && go(), {
    rootMargin: `${MARGIN} 0px`,
  });
  observer.observe(host);
  // A link to a comment followed later (the page's own table of contents, say) starts it too.
  addEventListener("hashchange", linked);
}
