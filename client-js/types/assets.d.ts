// Non-JS imports the build (build.mjs) turns into modules, so tsc knows their types.

/** A stylesheet imported as its text (esbuild's "text" loader). */
declare module "*.css" {
  const text: string;
  export default text;
}
