// Builds the web console into dist/web/: the TypeScript bundled by esbuild into one script (no
// CDN, nothing fetched from elsewhere at run time), the page, its stylesheet and icon copied.
// Each file is written beside its place and renamed into it, so a running broker never serves
// half a file.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');

async function put(name, contents) {
  const staging = join(out, `.${name}.${process.pid}`);
  await writeFile(staging, contents);
  await rename(staging, join(out, name));
}

await mkdir(out, { recursive: true });
const bundle = await build({
  entryPoints: [join(root, 'web', 'src', 'main.ts')],
  bundle: true,
  write: false,
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await put('app.js', bundle.outputFiles[0].contents);
for (const file of ['index.html', 'app.css', 'favicon.svg']) await put(file, await readFile(join(root, 'web', file)));
process.stdout.write(`web console built into ${out}\n`);
