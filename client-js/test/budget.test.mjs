// The size budget: gzip sizes are measured the way build.mjs reports them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  BUDGET_BYTES,
  COUNTS_ASSETS,
  COUNTS_BUDGET_BYTES,
  MODERATE_ASSETS,
  MODERATE_BUDGET_BYTES,
  SERVED_ASSETS,
  checkBudget,
  gzipSize,
  heaviest,
} from "../budget.mjs";
import { LANGUAGES } from "../src/lang/shelf.js";

test("the budget is 16 KB and covers embed.js", () => {
  assert.equal(BUDGET_BYTES, 16384);
  assert.ok(SERVED_ASSETS.includes("embed.js"));
});

test("heaviest picks the language file that weighs most gzipped", () => {
  const languages = new Map([
    ["de", "Kommentar ".repeat(50)],
    ["ar", "تعليق 1 تعليقان 2 تعليقات 3".repeat(9)],
    ["ja", "コメント"],
  ]);
  const [lang, contents] = heaviest(languages);
  assert.equal(lang, "ar");
  assert.equal(contents, languages.get("ar"));
  assert.deepEqual(heaviest(new Map()), ["", ""]);
});

test("embed.js bundles English only; each language file holds its own table and no code of the widget", async () => {
  const embed = await readFile(new URL("../../server/web/static/embed.js", import.meta.url), "utf8");
  assert.ok(embed.includes("# Comments"));
  for (const text of ["Kommentare", "comentarios", "komentarzy", "reacties"]) {
    assert.ok(!embed.includes(text), `embed.js has ${text}`);
  }
  for (const lang of LANGUAGES) {
    const file = await readFile(new URL(`../../server/web/static/lang/${lang}.js`, import.meta.url), "utf8");
    assert.ok(file.includes(`"${lang}"`) && file.includes("livethreadLang"), `lang/${lang}.js does not register`);
    for (const text of ["# Comments", "/api/v1/threads", "lt-list"]) {
      assert.ok(!file.includes(text), `lang/${lang}.js has ${text}`);
    }
  }
});

test("moderate.js has a budget of its own, 8 KB, and readers never download it", () => {
  assert.equal(MODERATE_BUDGET_BYTES, 8192);
  assert.deepEqual([...MODERATE_ASSETS], ["moderate.js"]);
  assert.ok(!SERVED_ASSETS.includes("moderate.js"));
});

test("counts.js has a budget of its own, 2 KB, and holds none of the widget", async () => {
  assert.equal(COUNTS_BUDGET_BYTES, 2048);
  assert.deepEqual([...COUNTS_ASSETS], ["counts.js"]);
  assert.ok(!SERVED_ASSETS.includes("counts.js"));
  const counts = await readFile(new URL("../../server/web/static/counts.js", import.meta.url), "utf8");
  assert.ok(counts.includes("/ws/v1/counts") && counts.includes("/api/v1/counts"));
  assert.ok(!counts.includes("/api/v1/threads"), "counts.js bundles the widget");
  assert.ok(checkBudget([counts], COUNTS_BUDGET_BYTES).ok);
});

test("the built bundles keep the moderators' code out of the readers' widget", async () => {
  const embed = await readFile(new URL("../../server/web/static/embed.js", import.meta.url), "utf8");
  const moderate = await readFile(new URL("../../server/web/static/moderate.js", import.meta.url), "utf8");
  for (const text of ["comments to review", "Shadow-ban", "/api/v1/bans", "/api/v1/audit"]) {
    assert.ok(!embed.includes(text), `embed.js has ${text}`);
    assert.ok(moderate.includes(text), `moderate.js lacks ${text}`);
  }
  assert.ok(checkBudget([moderate], MODERATE_BUDGET_BYTES).ok);
});

test("gzipSize is the length of a level-9 gzip of the bytes", () => {
  const text = "livethread ".repeat(500);
  assert.equal(gzipSize(text), gzipSync(text, { level: 9 }).length);
  assert.ok(gzipSize(text) < text.length / 10, "repetitive text compresses well");
});

test("checkBudget adds up every asset and reports the size line", () => {
  const assets = ["a".repeat(1000), new TextEncoder().encode("b".repeat(1000))];
  const bytes = gzipSize(assets[0]) + gzipSize(assets[1]);
  const report = checkBudget(assets);
  assert.deepEqual(report, {
    bytes,
    budget: BUDGET_BYTES,
    ok: true,
    message: `widget size: ${bytes} bytes gzipped (budget ${BUDGET_BYTES})`,
  });
});

test("checkBudget fails an asset set over the budget, and passes one exactly at it", () => {
  let state = 0x9e3779b9; // xorshift32: the same "random" bytes every run
  const random = new Uint8Array(20000).map(() => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 24;
  });
  const size = gzipSize(random);
  assert.ok(size > BUDGET_BYTES, "incompressible bytes stay large");
  assert.equal(checkBudget([random]).ok, false);
  assert.equal(checkBudget([random], size).ok, true);
  assert.equal(checkBudget([random], size - 1).ok, false);
  assert.equal(gunzipSync(gzipSync(random, { level: 9 })).length, random.length);
});

test("checkBudget names what it measured", () => {
  assert.match(checkBudget(["x"], MODERATE_BUDGET_BYTES, "moderate.js").message, /^moderate\.js size: \d+ bytes gzipped \(budget 8192\)$/);
});

test("checkBudget of nothing is zero bytes", () => {
  assert.equal(checkBudget([]).bytes, 0);
});
