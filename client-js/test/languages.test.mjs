// The readers' widget in twelve languages: every table complete and of English's shape, every
// count string with every plural form its language has, and words() falling back to English.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";

import { LANGUAGES } from "../src/lang/shelf.js";
import { en } from "../src/strings.js";

const TABLES = new Map([["en", en]]);
for (const lang of LANGUAGES) TABLES.set(lang, (await import(`../src/lang/${lang}.js`)).default);

// Numbers that between them hit every plural category of the twelve (1.5: Polish and Russian
// "other", which no whole number reaches; 1000000: the "many" of French, Spanish, Italian and
// Portuguese).
const SAMPLES = [0, 1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 100, 101, 102, 111, 1000000, 1.5];

/** @param {unknown} value */
const kind = (value) => (typeof value === "function" ? `function/${value.length}` : typeof value);

test("exactly these twelve languages, each a file of lang/ but English", () => {
  assert.deepEqual([...TABLES.keys()].sort(), ["ar", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr"]);
  const files = readdirSync(new URL("../src/lang/", import.meta.url)).filter((name) => /^[a-z]{2}\.js$/.test(name));
  assert.deepEqual(files.map((name) => name.slice(0, 2)).sort(), [...LANGUAGES].sort());
});

test("every language has every key of English, of the same kind, and no empty string", () => {
  for (const [lang, t] of TABLES) {
    assert.deepEqual(Object.keys(t).sort(), Object.keys(en).sort(), `${lang}: keys differ from en`);
    for (const [key, value] of Object.entries(en)) {
      const theirs = t[key];
      assert.equal(kind(theirs), kind(value), `${lang}.${key}`);
      if (typeof value === "string") assert.ok(theirs.trim(), `${lang}.${key} is empty`);
      if (typeof value === "object") {
        assert.deepEqual(Object.keys(theirs).sort(), Object.keys(value).sort(), `${lang}.${key}: keys`);
        for (const [inner, text] of Object.entries(theirs)) assert.ok(text.trim(), `${lang}.${key}.${inner} is empty`);
      }
      if (typeof value === "function") {
        const said = value.length === 1 && value.forms ? theirs(7) : theirs("Ann");
        assert.ok(said.trim() && !said.includes("undefined"), `${lang}.${key} says ${said}`);
        if (!value.forms) assert.ok(said.includes("Ann"), `${lang}.${key} leaves out the name: ${said}`);
      }
    }
  }
});

test("every count string gives each plural category of its language, and only those", () => {
  for (const [lang, t] of TABLES) {
    const rules = new Intl.PluralRules(lang);
    const categories = rules.resolvedOptions().pluralCategories;
    const reached = new Set(SAMPLES.map((n) => rules.select(n)));
    assert.deepEqual([...reached].sort(), [...categories].sort(), `${lang}: the samples miss a category`);
    const counted = Object.entries(en).filter(([, value]) => typeof value === "function" && value.forms);
    assert.deepEqual(counted.map(([key]) => key).sort(), ["count", "fresh", "more", "reading"]);
    for (const [key] of counted) {
      const { forms } = t[key];
      assert.ok(forms, `${lang}.${key} is not made by plural.js`);
      assert.deepEqual(Object.keys(forms).sort(), [...categories].sort(), `${lang}.${key}: its forms`);
      for (const n of SAMPLES) {
        const form = forms[rules.select(n)];
        const said = t[key](n);
        assert.equal(said, form.replace("#", String(n)), `${lang}.${key}(${n})`);
        assert.ok(!said.includes("#"), `${lang}.${key}(${n}) = ${said}`);
      }
    }
  }
});

test("Arabic has its six forms: none, one, two, a few, many and a hundred", () => {
  const ar = TABLES.get("ar");
  const said = [0, 1, 2, 3, 11, 100].map((n) => ar.count(n));
  assert.deepEqual(said, ["لا توجد تعليقات", "تعليق واحد", "تعليقان", "3 تعليقات", "11 تعليقًا", "100 تعليق"]);
  assert.equal(new Set(said).size, 6);
  assert.equal(ar.count(102), "102 تعليق");
  assert.equal(ar.count(103), "103 تعليقات");
});

test("Polish and Russian count by the last digits; Japanese has one form", () => {
  const pl = TABLES.get("pl");
  assert.deepEqual([1, 2, 5, 12, 22, 25].map((n) => pl.count(n)), [
    "1 komentarz",
    "2 komentarze",
    "5 komentarzy",
    "12 komentarzy",
    "22 komentarze",
    "25 komentarzy",
  ]);
  const ru = TABLES.get("ru");
  assert.deepEqual([1, 3, 11, 21, 24, 100].map((n) => ru.count(n)), [
    "1 комментарий",
    "3 комментария",
    "11 комментариев",
    "21 комментарий",
    "24 комментария",
    "100 комментариев",
  ]);
  assert.deepEqual([1, 2].map((n) => TABLES.get("ja").count(n)), ["コメント 1件", "コメント 2件"]);
  assert.deepEqual([1, 2].map((n) => en.count(n)), ["1 Comment", "2 Comments"]);
});
