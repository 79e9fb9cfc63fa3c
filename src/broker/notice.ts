/**
 * The offline notice: a marked block in a partner's CLAUDE.md saying how many unread messages
 * wait and from whom (counts and ids only, never text). Written only inside the project path the
 * partner registered, never through a symlink, and replaced atomically.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnreadCount } from './store.ts';

export const NOTICE_START = '<!-- claude-duo:unread:start -->';
export const NOTICE_END = '<!-- claude-duo:unread:end -->';

export function renderNotice(counts: UnreadCount[]): string {
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const lines = counts.map((c) => `- ${c.count} from ${c.sender} in ${c.conversationId}`);
  return [
    NOTICE_START,
    `## Claude Duo: ${total} unread message${total === 1 ? '' : 's'}`,
    ...lines,
    'Call the duo `listen` tool to read them. This block disappears once they are read.',
    NOTICE_END,
  ].join('\n');
}

/**
 * Puts the notice for `counts` into `<projectPath>/CLAUDE.md`, or removes it when `counts` is
 * empty. With `create: false` only an existing block is updated. Returns false (and writes
 * nothing) when the path is not safe to write.
 */
export async function updateNotice(
  projectPath: string,
  counts: UnreadCount[],
  options: { create: boolean } = { create: true },
): Promise<boolean> {
  // The registered path must be a real directory, not a symlink that could be re-pointed.
  const real = await realpath(projectPath).catch(() => undefined);
  if (real !== projectPath) return false;
  const file = join(projectPath, 'CLAUDE.md');
  const stat = await lstat(file).catch(() => undefined);
  if (stat && !stat.isFile()) return false;
  const current = stat ? await readFile(file, 'utf8') : '';
  if (!options.create && !current.includes(NOTICE_START)) return true;
  const next = withNotice(current, counts.length > 0 ? renderNotice(counts) : undefined);
  if (next === current) return true;
  if (next.trim() === '' && stat) {
    await rm(file);
    return true;
  }
  const temp = join(projectPath, `.CLAUDE.md.duo-${randomBytes(6).toString('hex')}`);
  await writeFile(temp, next, { flag: 'wx', mode: stat ? stat.mode & 0o777 : 0o644 });
  await rename(temp, file).catch(async (error: unknown) => {
    await rm(temp, { force: true });
    throw error;
  });
  return true;
}

/** `text` with the notice block replaced, appended, or (block undefined) removed. */
export function withNotice(text: string, block: string | undefined): string {
  const start = text.indexOf(NOTICE_START);
  const end = text.indexOf(NOTICE_END, start);
  if (start !== -1 && end !== -1) {
    const before = text.slice(0, start).replace(/\n*$/, '');
    const after = text.slice(end + NOTICE_END.length).replace(/^\n*/, '');
    const parts = [before, block, after].filter((part): part is string => part !== undefined && part !== '');
    return parts.length === 0 ? '' : parts.join('\n\n') + (after === '' ? '\n' : '');
  }
  if (block === undefined) return text;
  return text === '' ? `${block}\n` : `${text.replace(/\n*$/, '')}\n\n${block}\n`;
}
