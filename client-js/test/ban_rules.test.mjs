// The ban form's request and how a ban reads on the moderators' page (src/ban_rules.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { MODES, REMOVE, WHO, banBody, describe, doing, made, whom } from "../src/ban_rules.js";
import { en, pickModerator } from "../src/strings.js";

const t = pickModerator("en");
const NOW = Date.UTC(2026, 11, 5, 14, 0);
const DAY = 86400000;

/** @param {Partial<import("../src/types.js").Ban>} fields */
const aBan = (fields) => ({
  id: 1, key: "email", value: "ann@example.com", mode: "ban", until: null, reason: null,
  by: "Lisa West", at: "2026-12-05T14:00:00Z", label: "Ann", ...fields,
});

test("a ban from a comment lets the server pick the key unless one is named", () => {
  const choice = { mode: "ban", who: "best", remove: "none", reason: "" };
  assert.deepEqual(banBody("c1", choice, NOW), { comment: "c1", key: null, mode: "ban", remove: "none" });
  assert.equal(banBody("c1", { ...choice, who: "address" }, NOW).key, "address");
});

test("suspensions end 1, 7 or 30 days from now; a shadow-ban has no end", () => {
  const choice = { who: "email", remove: "thread", reason: "  spam  " };
  for (const [mode, days] of [["day", 1], ["week", 7], ["month", 30]]) {
    const body = banBody("c1", { ...choice, mode }, NOW);
    assert.equal(body.mode, "suspend");
    assert.equal(body.until, new Date(NOW + days * DAY).toISOString());
    assert.equal(body.reason, "spam");
    assert.equal(body.remove, "thread");
  }
  const shadow = banBody("c1", { ...choice, mode: "shadow" }, NOW);
  assert.equal(shadow.mode, "shadow");
  assert.ok(!("until" in shadow));
});

test("the form's first choices are the defaults: ban, best available, remove nothing", () => {
  assert.deepEqual([MODES[0][0], WHO[0][0], REMOVE[0][0]], ["ban", "best", "none"]);
  for (const [, key] of [...MODES, ...WHO, ...REMOVE]) assert.equal(typeof t[key], "string", key);
});

test("a ban names the person by label, else by value, but never shows an address's hash", () => {
  assert.equal(whom(aBan({}), t), "Ann");
  assert.equal(whom(aBan({ label: "" }), t), "ann@example.com");
  assert.equal(whom(aBan({ key: "address", value: "9f86d081884c7d65", label: "" }), t), "someone");
  assert.equal(whom(aBan({ key: "address", value: "9f86d081884c7d65" }), t), "Ann");
});

test("what a ban does, in words, with a suspension's end in the moderator's language", () => {
  assert.equal(doing(aBan({}), t, "en"), "banned");
  assert.equal(doing(aBan({ mode: "shadow" }), t, "en"), "shadow-banned");
  const until = "2026-12-06T14:00:00Z";
  const when = new Intl.DateTimeFormat("en", { dateStyle: "long", timeStyle: "short" }).format(new Date(until));
  assert.equal(doing(aBan({ mode: "suspend", until }), t, "en"), `suspended until ${when}`);
  // An address is kept only so long: a ban on one ends then.
  assert.equal(doing(aBan({ key: "address", until }), t, "en"), `banned until ${when}`);
  assert.equal(doing(aBan({ mode: "shadow", until }), t, "en"), `shadow-banned until ${when}`);
  assert.equal(describe(aBan({ key: "address" }), t, "en"), "Ann (address): banned");
});

test("after a ban the moderator is told how many comments went", () => {
  assert.equal(made({ ban: aBan({}), removed: 0 }, t, "en"), "Ann (email): banned.");
  assert.equal(made({ ban: aBan({}), removed: 1 }, t, "en"), "Ann (email): banned; 1 comment removed.");
  assert.equal(made({ ban: aBan({}), removed: 3 }, t, "en"), "Ann (email): banned; 3 comments removed.");
});

test("every language has every moderator string, and readers' strings leave them out", () => {
  const de = pickModerator("de");
  // German has its own of each (none falls back to English).
  for (const key of Object.keys(t)) assert.notEqual(de[key], t[key], key);
  assert.equal(de.lift, "Aufheben");
  assert.equal(pickModerator("fr").lift, "Lift");
  assert.ok(!("banOpen" in en) && !("queue" in en));
});
