// Bundles src/embed.js into the one served, committed file: server/web/static/embed.js.
//
//   node build.mjs [OUTFILE]   build (default ../server/web/static/embed.js), then check the size
//   node build.mjs --check     build in memory; fail if the committed embed.js differs or is too big
//   node build.mjs --size      build in memory and print the gzipped size
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { SERVED_ASSETS, checkBudget } from "./budget.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const STATIC = resolve(HERE, "../server/web/static");
const COMMITTED = join(STATIC, "embed.js");
const STALE = "server/web/static/embed.js is stale: run `make js` and commit it";

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
 * @param {string} outfile where it will be written (esbuild needs a name even when not writing)
 * @returns {Promise<Uint8Array>}
 */
async function bundle(outfile) {
  const result = await esbuild.build({
    absWorkingDir: HERE,
    entryPoints: ["src/embed.js"],
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
 * Reports the gzipped size of every served asset, `embed` standing in for embed.js.
 * @param {Uint8Array} embed
 * @returns {Promise<boolean>} whether it fits the budget
 */
async function reportSize(embed) {
  const assets = await Promise.all(
    SERVED_ASSETS.map((name) => (name === "embed.js" ? embed : readFile(join(STATIC, name)))),
  );
  const { ok, message } = checkBudget(assets);
  console.log(message);
  if (!ok) console.error("the widget is over its size budget");
  return ok;
}

/** @param {string[]} args */
async function main(args) {
  const flags = args.filter((arg) => arg.startsWith("--"));
  const paths = args.filter((arg) => !arg.startsWith("--"));
  const unknown = flags.filter((flag) => flag !== "--check" && flag !== "--size");
  if (unknown.length || paths.length > 1 || (flags.length && paths.length)) {
    console.error("usage: node build.mjs [OUTFILE | --check | --size]");
    return 2;
  }
  if (flags.includes("--check")) {
    const built = await bundle(COMMITTED);
    const committed = await readFile(COMMITTED).catch(() => null);
    const fresh = committed !== null && Buffer.compare(committed, built) === 0;
    if (!fresh) console.error(STALE);
    const fits = await reportSize(built);
    return fresh && fits ? 0 : 1;
  }
  if (flags.includes("--size")) {
    return (await reportSize(await bundle(COMMITTED))) ? 0 : 1;
  }
  const outfile = paths.length ? resolve(paths[0]) : COMMITTED;
  const built = await bundle(outfile);
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(outfile, built);
  console.log(`wrote ${relative(process.cwd(), outfile)} (${built.length} bytes)`);
  return (await reportSize(built)) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2)).catch((error) => {
  // esbuild has already printed its own diagnostics for build errors.
  if (!(error && Array.isArray(error.errors))) console.error(error);
  return 1;
});
