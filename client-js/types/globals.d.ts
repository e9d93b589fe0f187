// What moderate.js leaves for the widget (client-js/src/moderate.js registers it).

interface Window {
  /** The moderators' desk, set by moderate.js on /moderate only. */
  livethreadModerate?: import("../src/types.js").DeskMaker;
}

interface Window {
  /** The report form, set by report.js once the widget has loaded it (client-js/src/reporting.js). */
  livethreadReport?: typeof import("../src/report.js").report;
}
