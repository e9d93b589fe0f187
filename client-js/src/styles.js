// The widget's styles, applied inside its shadow root: the host page's CSS cannot reach in and
// ours cannot leak out. Publishers theme it through the --lt-* custom properties.

const dark =
  "--lt-fg:#e8eaed;--lt-bg:#17191c;--lt-muted:#a6abb1;--lt-border:#3c4046;--lt-accent:#8ab4f8;" +
  "--lt-error:#f2b8b5;--lt-mark:#3d3520";

export const css = `
:host{--lt-fg:#1b1c1d;--lt-bg:#fff;--lt-muted:#5b6066;--lt-border:#d9dbde;--lt-accent:#0b57d0;
--lt-error:#b3261e;--lt-mark:#fff3c4;--lt-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
--lt-radius:6px;display:block;color:var(--lt-fg);font:15px/1.55 var(--lt-font)}
@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){${dark}}}
:host([data-theme=dark]){${dark}}
*{box-sizing:border-box}
[hidden]{display:none!important}
section{padding:.5rem 0}
header.lt-head{display:flex;align-items:center;gap:.75rem 1rem;flex-wrap:wrap;margin-bottom:.5rem}
h2{font-size:1.3rem;margin:0}
h3{font-size:1.05rem;margin:0}
.lt-status{color:var(--lt-muted);font-size:.85rem}
ol{list-style:none;margin:0;padding:0}
ol ol{padding-left:1.1rem;border-left:2px solid var(--lt-border);margin-left:.3rem}
@media (max-width:600px){ol ol{padding-left:.55rem;margin-left:.1rem}ol ol ol ol{padding-left:0;border-left:0;margin-left:0}}
article{padding:.6rem .4rem;border-radius:var(--lt-radius);overflow-wrap:anywhere}
article:focus{outline:none}
article:focus-visible{outline:2px solid var(--lt-accent)}
.lt-meta{display:flex;gap:.2rem .6rem;align-items:baseline;flex-wrap:wrap}
.lt-author{font-weight:650;color:var(--lt-fg)}
a{color:var(--lt-accent)}
.lt-time{color:var(--lt-muted);font-size:.85rem;text-decoration:none}
.lt-time:hover{text-decoration:underline}
.lt-body p{margin:.35rem 0}
.lt-body blockquote{border-left:3px solid var(--lt-border);margin:.35rem 0;padding-left:.7rem;color:var(--lt-muted)}
.lt-body code{font-size:.9em;background:color-mix(in srgb,var(--lt-border) 45%,transparent);padding:0 .2em;border-radius:3px}
.lt-tomb{color:var(--lt-muted);font-style:italic;margin:.2rem 0}
.lt-badge{font-size:.75rem;border:1px solid var(--lt-border);border-radius:1rem;padding:0 .5rem;color:var(--lt-muted)}
.lt-actions{display:flex;gap:.9rem;flex-wrap:wrap;margin-top:.2rem}
button{font:inherit;cursor:pointer}
.lt-link{background:none;border:0;padding:.15rem 0;color:var(--lt-accent);font-size:.85rem;font-weight:600}
.lt-btn{background:var(--lt-accent);color:var(--lt-bg);border:0;border-radius:var(--lt-radius);padding:.5rem 1.1rem;font-weight:650}
.lt-btn[disabled]{opacity:.6;cursor:progress}
.lt-new{display:block;margin:.5rem auto;border-radius:2rem}
:focus-visible{outline:2px solid var(--lt-accent);outline-offset:2px}
form{display:grid;gap:.6rem;margin:.75rem 0;padding:1rem;border:1px solid var(--lt-border);border-radius:var(--lt-radius)}
.lt-row{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.6rem}
label{display:grid;gap:.2rem;font-size:.9rem;font-weight:600}
input,textarea{font:inherit;font-weight:400;color:var(--lt-fg);background:var(--lt-bg);border:1px solid var(--lt-border);border-radius:var(--lt-radius);padding:.5rem;width:100%}
textarea{min-height:6rem;resize:vertical}
[aria-invalid=true]{border-color:var(--lt-error);border-width:2px}
.lt-error{color:var(--lt-error);font-size:.85rem;font-weight:600;margin:0}
.lt-error:empty{display:none}
.lt-closed{color:var(--lt-muted);font-style:italic}
.lt-target>article{background:var(--lt-mark);transition:background 1.5s}
.lt-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (prefers-reduced-motion:reduce){*{transition:none!important;animation:none!important}}
`;

/** Apply the styles to a shadow root; constructable sheets also work under a strict CSP. @param {ShadowRoot} root */
export function adopt(root) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }
}
