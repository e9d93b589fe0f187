// The moderators' bundle (server/web/static/moderate.js): /moderate loads it, and no reader's
// page does. It leaves the desk (moderation.js) where the widget looks for it when its tag has
// data-moderate, and says so, whichever of the two scripts runs first.

import { desk } from "./moderation.js";

window.livethreadModerate = desk;
dispatchEvent(new Event("livethread:moderate"));
