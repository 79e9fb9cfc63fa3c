/**
 * Serves the web console: the few files `npm run build` writes to `dist/web/` in the package
 * folder, found by walking up from this module to package.json (so it works from the sources
 * and from compiled JavaScript alike). Only those named files are served, never a path taken
 * from the request. Every broker response carries the headers that keep a page in its place:
 * no inline scripts, no framing, no sniffing, no referrer, not readable from other origins.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DuoError } from '../../shared/errors.ts';

const FILES: Record<string, { file: string; type: string }> = {
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/login': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/console/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  // Another origin cannot even embed a response (as a script, image, …) to read it sideways.
  'cross-origin-resource-policy': 'same-origin',
};

/** Adds the security headers to a reply (an onSend hook for every route). */
export async function securityHeaders(_request: unknown, reply: FastifyReply, payload: unknown): Promise<unknown> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!reply.hasHeader(name)) void reply.header(name, value);
  }
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  return payload;
}

/** The folder the console is built into: `dist/web` beside the package's package.json. */
export function webRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
  }
  return join(dirname(from), 'web');
}

export async function registerStatic(app: FastifyInstance, root: string = webRoot()): Promise<void> {
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 308));
  for (const [url, { file, type }] of Object.entries(FILES)) {
    app.get(url, async (_request, reply) => {
      let body: Buffer;
      try {
        body = await readFile(join(root, file));
      } catch {
        throw new DuoError(
          'unavailable',
          `The web console is not built (${join(root, file)} is missing). Run \`npm run build\` in the claude-duo folder, then reload.`,
        );
      }
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
}
