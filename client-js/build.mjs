// Bundles the three served, committed scripts: src/embed.js (the readers' widget) into
// server/web/static/embed.js, and src/moderate.js (what only the moderators' page needs) into
// server/web/static/moderate.js; and src/counts.js (index pages' live comment counts) into
// server/web/static/counts.js.
//
//   node build.mjs [OUTDIR]   build them all (default ../server/web/static/), then check their sizes
//   node build.mjs --check    build in memory; fail if a committed script differs or is too big
//   node build.mjs --size     build in memory and print the gzipped sizes
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
  SERVED_ASSETS,
  checkBudget,
} from "./budget.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const STATIC = resolve(HERE, "../server/web/static");

/** Each bundle: its entry, the file it becomes, and the budget of the files its page downloads. */
const BUNDLES = [
  { entry: "src/embed.js", file: "embed.js", assets: SERVED_ASSETS, budget: BUDGET_BYTES, what: "widget" },
  { entry: "src/moderate.js", file: "moderate.js", assets: MODERATE_ASSETS, budget: MODERATE_BUDGET_BYTES, what: "moderate.js" },
  { entry: "src/counts.js", file: "counts.js", assets: COUNTS_ASSETS, budget: COUNTS_BUDGET_BYTES, what: "counts.js" },
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
 * The minified IIFE bundle, built in memory; the same source always gives the same bytes.
 * @param {string} entry
 * @param {string} outfile where it will be written (esbuild needs a name even when not writing)
 * @returns {Promise<Uint8Array>}
 */
async function bundle(entry, outfile) {
  const result = await esbuild.build({
    absWorkingDir: HERE,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    charset: "ascii",
    plugins: [cssAsText],
    write: false,
    logLevel: "warning",
  });
  const [output, ...extra] = result.outputFiles;
  if (!output || extra.length) throw new Error("expected exactly one output file");
  return output.contents;
}

/**
 * Reports the gzipped size of every file a bundle's page downloads, `built` standing in for
 * the bundle's own file.
 * @param {typeof BUNDLES[number]} b @param {Uint8Array} built
 * @returns {Promise<boolean>} whether it fits the budget
 */
async function reportSize(b, built) {
  const assets = await Promise.all(b.assets.map((name) => (name === b.file ? built : readFile(join(STATIC, name)))));
  const { ok, message } = checkBudget(assets, b.budget, b.what);
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
  for (const b of BUNDLES) {
    const committed = join(STATIC, b.file);
    if (flags.includes("--check")) {
      const built = await bundle(b.entry, committed);
      const current = await readFile(committed).catch(() => null);
      const fresh = current !== null && Buffer.compare(current, built) === 0;
      if (!fresh) console.error(`server/web/static/${b.file} is stale: run \`make js\` and commit it`);
      ok = (await reportSize(b, built)) && fresh && ok;
    } else if (flags.includes("--size")) {
      ok = (await reportSize(b, await bundle(b.entry, committed))) && ok;
    } else {
      const outfile = paths.length ? resolve(paths[0], b.file) : committed;
      const built = await bundle(b.entry, outfile);
      await mkdir(dirname(outfile), { recursive: true });
      await writeFile(outfile, built);
      console.log(`wrote ${relative(process.cwd(), outfile)} (${built.length} bytes)`);
      ok = (await reportSize(b, built)) && ok;
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2)).catch((error) => {
  // esbuild has already printed its own diagnostics for build errors.
  if (!(error && Array.isArray(error.errors))) console.error(error);
  return 1;
});
