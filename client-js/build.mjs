// Bundles the three served, committed scripts: src/embed.js (the readers' widget) into
// server/web/static/embed.js, and src/moderate.js (what only the moderators' page needs) into
// server/web/static/moderate.js; and src/counts.js (index pages' live comment counts) into
// server/web/static/counts.js; src/reporting.js (the report form, loaded on a reader's first
// report) into server/web/static/report.js; and each language but English (src/lang/XX.js) into
// server/web/static/lang/XX.js, which the widget loads only on a page in that language.
//
//   node build.mjs [OUTDIR]   build them all (default ../server/web/static/), then check their sizes
//   node build.mjs --check    build in memory; fail if a committed script differs or is too big
//   node build.mjs --size     build in memory and print the gzipped sizes
import { createHash } from "node:crypto";
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import {
  BUDGET_BYTES,
  COUNTS_ASSETS,
  COUNTS_BUDGET_BYTES,
  MODERATE_ASSETS,
  MODERATE_BUDGET_BYTES,
  REPORT_ASSETS,
  REPORT_BUDGET_BYTES,
  SERVED_ASSETS,
  checkBudget,
  heaviest,
} from "./budget.mjs";
import { LANGUAGES } from "./src/lang/shelf.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const STATIC = resolve(HERE, "../server/web/static");

/** Each bundle: its entry, the file it becomes, and the budget of the files its page downloads. */
const BUNDLES = [
  { entry: "src/embed.js", file: "embed.js", assets: SERVED_ASSETS, budget: BUDGET_BYTES, what: "widget" },
  { entry: "src/moderate.js", file: "moderate.js", assets: MODERATE_ASSETS, budget: MODERATE_BUDGET_BYTES, what: "moderate.js" },
  { entry: "src/counts.js", file: "counts.js", assets: COUNTS_ASSETS, budget: COUNTS_BUDGET_BYTES, what: "counts.js" },
  { entry: "src/reporting.js", file: "report.js", assets: REPORT_ASSETS, budget: REPORT_BUDGET_BYTES, what: "report.js" },
];

/**
 * `import css from "./widget.css"` gives the stylesheet as a string, minified like the JS.
 * @type {esbuild.Plugin}
 */
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      const { code, warnings } = await esbuild.transform(source, {
        loader: "css",
        minify: true,
        target: ["chrome80", "firefox78", "safari14"],
        sourcefile: relative(HERE, path),
      });
      return { contents: code.trimEnd(), loader: "text", warnings };
    });
  },
};

/**
 * `import versions from "./lang/versions.js"` gives the language files' version, so embed.js
 * asks for the year-cached URLs; it is the one server/web/languages.py computes.
 * @param {string} versions
 * @returns {esbuild.Plugin}
 */
function languageVersions(versions) {
  return {
    name: "language-versions",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]lang[\\/]versions\.js$/ }, () => ({
        contents: `export default ${JSON.stringify(versions)};`,
        loader: "js",
      }));
    },
  };
}

/** The language files' version: the start of the SHA-256 of them all, in the order of their
 * languages (server/web/languages.py computes the same). @param {Map<string, Uint8Array>} languages */
const versionOf = (languages) => {
  const hash = createHash("sha256");
  for (const lang of [...languages.keys()].sort()) hash.update(/** @type {Uint8Array} */ (languages.get(lang)));
  return hash.digest("hex").slice(0, 12);
};

/** A language's script: its table, left on the shelf where the widget looks (lang/shelf.js).
 * @param {string} lang @returns {esbuild.StdinOptions} */
const languageEntry = (lang) => ({
  contents: [
    `import t from "./src/lang/${lang}.js";`,
    `import { register } from "./src/lang/shelf.js";`,
    `register(${JSON.stringify(lang)}, t);`,
  ].join("\n"),
  resolveDir: HERE,
  sourcefile: `lang/${lang}.entry.js`,
});

/**
 * The minified IIFE bundle, built in memory; the same source always gives the same bytes.
 * @param {string | esbuild.StdinOptions} entry a file, or a script of its own
 * @param {string} outfile where it will be written (esbuild needs a name even when not writing)
 * @param {esbuild.Plugin[]} [plugins] beyond the CSS one
 * @returns {Promise<Uint8Array>}
 */
async function bundle(entry, outfile, plugins = []) {
  const result = await esbuild.build({
    absWorkingDir: HERE,
    ...(typeof entry === "string" ? { entryPoints: [entry] } : { stdin: entry }),
    // A language's file is nearly all text in its own script: as UTF-8 (the server says so in
    // its Content-Type) Arabic or Russian take about a third less, gzipped, than as \u escapes.
    charset: typeof entry === "string" ? "ascii" : "utf8",
    outfile,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    plugins: [cssAsText, ...plugins],
    write: false,
    logLevel: "warning",
  });
  const [output, ...extra] = result.outputFiles;
  if (!output || extra.length) throw new Error("expected exactly one output file");
  return output.contents;
}

/**
 * Reports the gzipped size of every file a bundle's page downloads, `built` standing in for
 * the bundle's own file; a reader of the widget also downloads one language's file, counted
 * as the heaviest of them.
 * @param {typeof BUNDLES[number]} b @param {Uint8Array} built @param {Map<string, Uint8Array>} languages
 * @returns {Promise<boolean>} whether it fits the budget
 */
async function reportSize(b, built, languages) {
  const assets = await Promise.all(b.assets.map((name) => (name === b.file ? built : readFile(join(STATIC, name)))));
  let what = b.what;
  if (b.file === "embed.js") {
    const [lang, contents] = heaviest(languages);
    assets.push(contents);
    what = `${what} (embed.js and the heaviest language, lang/${lang}.js)`;
  }
  const { ok, message } = checkBudget(assets, b.budget, what);
  console.log(message);
  if (!ok) console.error(`${b.file} is over its size budget`);
  return ok;
}

/** @param {string[]} args */
async function main(args) {
  const flags = args.filter((arg) => arg.startsWith("--"));
  const paths = args.filter((arg) => !arg.startsWith("--"));
  const unknown = flags.filter((flag) => flag !== "--check" && flag !== "--size");
  if (unknown.length || paths.length > 1 || (flags.length && paths.length)) {
    console.error("usage: node build.mjs [OUTDIR | --check | --size]");
    return 2;
  }
  let ok = true;
  const check = flags.includes("--check");
  const write = !flags.length;
  /** @param {string} file under server/web/static/ @param {Uint8Array} built */
  const emit = async (file, built) => {
    const committed = join(STATIC, file);
    if (check) {
      const current = await readFile(committed).catch(() => null);
      const fresh = current !== null && Buffer.compare(current, built) === 0;
      if (!fresh) console.error(`server/web/static/${file} is stale: run \`make js\` and commit it`);
      ok = fresh && ok;
    } else if (write) {
      const outfile = paths.length ? resolve(paths[0], file) : committed;
      await mkdir(dirname(outfile), { recursive: true });
      await writeFile(outfile, built);
      console.log(`wrote ${relative(process.cwd(), outfile)} (${built.length} bytes)`);
    }
  };
  // The languages first: embed.js carries their versions.
  /** @type {Map<string, Uint8Array>} */
  const languages = new Map();
  for (const lang of LANGUAGES) {
    const file = `lang/${lang}.js`;
    const built = await bundle(languageEntry(lang), join(STATIC, file));
    languages.set(lang, built);
    await emit(file, built);
  }
  const versions = versionOf(languages);
  for (const b of BUNDLES) {
    const built = await bundle(b.entry, join(STATIC, b.file), [languageVersions(versions)]);
    await emit(b.file, built);
    ok = (await reportSize(b, built, languages)) && ok;
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2)).catch((error) => {
  // esbuild has already printed its own diagnostics for build errors.
  if (!(error && Array.isArray(error.errors))) console.error(error);
  return 1;
});
