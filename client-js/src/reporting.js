// The report form's bundle (server/web/static/report.js): the widget loads it the first time a
// reader asks to report a comment, so the many readers who never do never download it.

import { report } from "./report.js";

window.livethreadReport = report;
