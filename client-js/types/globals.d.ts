// What moderate.js leaves for the widget (client-js/src/moderate.js registers it).

interface Window {
  /** The moderators' desk, set by moderate.js on /moderate only. */
  livethreadModerate?: import("../src/types.js").DeskMaker;
}
