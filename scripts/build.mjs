// Bundles the command line into dist/ with esbuild: the entry, dist/src/cli/main.js, with one chunk
// per command it loads on demand (the partner, the broker ...) and chunks they share; and the
// hooks, which Claude Code runs at every turn and tool call, as one file of their own
// (dist/src/cli/hook.js: a single file starts faster than twenty chunks). A process reads a few
// files instead of some 400 modules: start-up is what every Claude Code session and every hook
// pays. Native and optional modules stay external (installed as dependencies). Source maps sit
// beside each file; `node --enable-source-maps` uses them.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src', 'cli');

/** Loaded from node_modules at run time: native addons, and what only some setups install. */
export const EXTERNAL = ['better-sqlite3', 'pg', 'pg-native', 'bufferutil', 'utf-8-validate'];

// A clean folder: chunk names carry hashes, so an old build's chunks would pile up.
await rm(join(root, 'dist', 'src'), { recursive: true, force: true });
await rm(join(root, 'dist', 'migrations'), { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: 'linked',
  // Maps name the files and lines of src/ (and of each dependency); the text stays out of the package.
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  // The licences of what is bundled go into one file instead (below).
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // Dependencies written as CommonJS call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __duoRequire } from 'node:module'; const require = __duoRequire(import.meta.url);",
  },
};

/**
 * Node's built-ins are loaded with require(), not import: an ES module import of a built-in makes
 * Node build its module facade, which reads every export, lazy ones included (on Node 22,
 * importing node:http that way loads all of undici for its WebSocket and fetch exports).
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(context) {
    // The stand-in's own require() is of the real built-in; a dynamic import() stays as written.
    context.onResolve({ filter: /^node:/ }, ({ path, namespace, kind }) =>
      namespace === 'builtin' || kind === 'dynamic-import' ? { path, external: true } : { path, namespace: 'builtin' },
    );
    context.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)});`,
      loader: 'js',
    }));
  },
};

/** In the main bundle, `duo hook` loads the hooks' own file instead of bundling them again. */
const hooksApart = {
  name: 'hooks-apart',
  setup(context) {
    context.onResolve({ filter: /\/commands\/hook\.ts$/ }, () => ({ path: './hook.js', external: true }));
  },
};

const [main, hooks] = await Promise.all([
  build({
    ...common,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir: out,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [hooksApart, builtinsByRequire],
  }),
  build({
    ...common,
    entryPoints: { hook: 'src/cli/commands/hook.ts' },
    outdir: out,
    splitting: true,
    chunkNames: 'chunks/hook-[name]-[hash]',
    plugins: [builtinsByRequire],
  }),
]);
const result = {
  metafile: {
    inputs: { ...main.metafile.inputs, ...hooks.metafile.inputs },
    outputs: { ...main.metafile.outputs, ...hooks.metafile.outputs },
  },
};
// Which module went into which chunk, for `npx esbuild --analyze`-style questions (not shipped).
await writeFile(join(root, 'dist', 'bundle-meta.json'), JSON.stringify(result.metafile));
await writeFile(join(root, 'dist', 'THIRD-PARTY-LICENSES.txt'), await licences(result.metafile));
process.stdout.write(`duo bundled into ${out}\n`);

/** Each bundled package's name, version and licence text: their licences ask to keep the notice. */
async function licences(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]);
  }
  const sections = [];
  for (const dir of [...packages].sort()) {
    const pkg = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8'));
    const file = (await readdir(join(root, dir))).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = file ? await readFile(join(root, dir, file), 'utf8') : `License: ${pkg.license ?? 'see the package'}`;
    sections.push(`${pkg.name}@${pkg.version}\n\n${text.trim()}\n`);
  }
  return `Claude Duo bundles these packages into dist/src/.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
}
