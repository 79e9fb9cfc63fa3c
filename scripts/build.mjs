// Bundles the command line into dist/ with esbuild: the entry, dist/src/cli/main.js, with one chunk
// per command it loads on demand (the partner, the broker ...) and chunks they share; and the
// hooks, which Claude Code runs at every turn and tool call, as one CommonJS file of their own
// (dist/src/cli/hooks.cjs: one file starts faster than twenty chunks). A process reads a few
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
  target: 'node22',
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
 * importing node:http that way loads all of undici for its WebSocket and fetch exports). Nor may
 * esbuild's CommonJS wrapper stand in, as it copies every export too (node:util's lazy ones load
 * worker_threads, fs's load fs/promises and readline). So an `import` of a built-in becomes a
 * small module that reads exactly the names the bundle imports from it (`imported`, found by a
 * first build that leaves the imports as they are). A require() of one stays as written.
 */
function builtinsByRequire(imported) {
  return {
    name: 'builtins-by-require',
    setup(context) {
      context.onResolve({ filter: /^node:/ }, ({ path, kind }) =>
        kind === 'import-statement' ? { path, namespace: 'builtin' } : { path, external: true },
      );
      context.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({
        contents: standIn(path, imported.get(path)),
        loader: 'js',
      }));
    },
  };
}

/** A built-in's stand-in: the names imported from it, or all of it where a namespace is imported. */
function standIn(path, names) {
  const builtin = `require(${JSON.stringify(path)})`;
  if (names === 'all') return `module.exports = ${builtin};`;
  const lines = [`const builtin = ${builtin};`, 'export default builtin;'];
  if (names?.size) lines.push(`export const { ${[...names].join(', ')} } = builtin;`);
  return lines.join('\n');
}

/**
 * Which names the ES module bundle built with `options` imports from each built-in: `import { a,
 * b as c }` gives a and b; a namespace import (`import * as x`) gives 'all', since any export may be
 * read from it.
 */
async function builtinImports(options) {
  const imported = new Map();
  const { outputFiles } = await build({
    ...options,
    external: [...EXTERNAL, 'node:*'],
    write: false,
    metafile: false,
    sourcemap: false,
    minifyWhitespace: false,
  });
  for (const file of outputFiles) {
    // An import of another form would go unread, and a name read from it be undefined at run time.
    const forms = file.text.match(/^import [^;]* from "node:[^"]+";$/gm) ?? [];
    const read = [
      ...file.text.matchAll(/^import ([\w$]+|\* as [\w$]+|(?:[\w$]+, *)?\{[^}]*\}) from "(node:[^"]+)";$/gm),
    ];
    if (read.length !== forms.length) throw new Error(`unexpected import of a built-in in ${file.path}`);
    for (const [, clause, path] of read) {
      const names = imported.get(path) ?? new Set();
      if (names === 'all' || clause.includes('* as ')) {
        imported.set(path, 'all');
        continue;
      }
      for (const [, list] of clause.matchAll(/\{([^}]*)\}/g))
        for (const item of list.split(',')) {
          const name = item.trim().split(/\s+as\s+/)[0];
          if (name && name !== 'default') names.add(name);
        }
      imported.set(path, names);
    }
  }
  return imported;
}

/**
 * In the main bundle, `duo hook` runs the hooks' own file instead of bundling them again. That file
 * is CommonJS, loaded with require(): a hook pays for no graph of ES modules (each costs a load,
 * a link and a promise), which saves a hook about a tenth of its run.
 */
const hooksApart = {
  name: 'hooks-apart',
  setup(context) {
    context.onResolve({ filter: /\/commands\/hook\.ts$/ }, () => ({ path: 'hook', namespace: 'hooks-apart' }));
    // Imported dynamically, so it is a chunk of its own under chunks/: the hooks are one folder up
    // from it (its own require(), not the bundle's shared one, which lives in whichever chunk).
    context.onLoad({ filter: /.*/, namespace: 'hooks-apart' }, () => ({
      contents:
        "import { createRequire } from 'node:module';\nexport const { command } = createRequire(import.meta.url)('../hooks.cjs');",
      loader: 'js',
    }));
  },
};

const mainOptions = {
  ...common,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: out,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
};
const hooksOptions = {
  ...common,
  // CommonJS needs no stand-ins for the built-ins, nor the banner's require(). It has no
  // import.meta either: code on the hooks' path must not use it.
  format: 'cjs',
  banner: {},
  logOverride: { 'empty-import-meta': 'error' },
  entryPoints: { hooks: 'src/cli/hooks/entry.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: out,
};
const imported = await builtinImports({ ...mainOptions, plugins: [hooksApart] });
const [main, hooks] = await Promise.all([
  build({ ...mainOptions, plugins: [hooksApart, builtinsByRequire(imported)] }),
  build(hooksOptions),
]);
// What `duo install` registers for the hooks: Node's compile cache is on before the bundle loads,
// so a hook compiles nothing it compiled before.
await writeFile(
  join(out, 'hook.cjs'),
  "'use strict';\nrequire('node:module').enableCompileCache();\nrequire('./hooks.cjs').runAsMain();\n",
);
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
