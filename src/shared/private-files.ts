/**
 * Opening Duo's private files (the owner token, broker.log, lock and staging files) so that a
 * link or a file planted by another local user is never followed or trusted:
 *
 * - every open uses O_NOFOLLOW, so a symbolic link at the path is refused instead of followed;
 * - new files are created with O_CREAT|O_EXCL (which also refuses an existing link) and mode 0600;
 * - owner and mode are checked with fstat on the opened descriptor, not on the path, so the file
 *   cannot be swapped between the check and the use.
 *
 * Duo's own folders (claude-duo under the XDG config, state and data folders) are created 0700.
 * One found looser (say 0777, made by hand or by an old version) is tightened to 0700 with a
 * warning: only its owner reaches it afterwards, and every file in it is checked on open anyway.
 * A folder that belongs to another user is refused.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { DuoError } from './errors.ts';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = constants;

/** Says a sentence to the user (stderr, or the broker's log). */
export type Warn = (message: string) => void;

const toStderr: Warn = (message) => process.stderr.write(`duo: ${message}\n`);

/** This process's user id, or undefined where there is none (Windows). */
function myUid(): number | undefined {
  return process.getuid?.();
}

/** The folder `dir`, created 0700 when missing; refused when another user owns it, tightened when others may enter it. */
export function privateDir(dir: string, warn: Warn = toStderr): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  const uid = myUid();
  // Windows has no owner ids or mode bits to check; its folders are per-user by their ACLs.
  if (uid === undefined) return;
  if (!stat.isDirectory())
    throw new DuoError('forbidden', `${dir} is not a folder. Move it away; Duo keeps its files there.`);
  if (stat.uid !== uid) {
    throw new DuoError(
      'forbidden',
      `The folder ${dir} belongs to another user (uid ${stat.uid}), not to you (uid ${uid}). Move it away and run the command again; Duo creates its own.`,
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
    warn(
      `the folder ${dir} was open to other users (mode ${octal(stat.mode)}); it is now 0700. Check it for files you did not put there.`,
    );
  }
}

/**
 * The folder that holds one of Duo's files: kept private (privateDir) when it is Duo's own
 * `claude-duo` folder, only created (0700) when the user chose another place for the file.
 */
export function folderFor(file: string, warn?: Warn): void {
  const dir = dirname(file);
  if (basename(dir) === 'claude-duo') privateDir(dir, warn);
  else mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export type PrivateOpen = 'read' | 'append';

/**
 * A descriptor for the existing file at `path` (or undefined when there is none, or for
 * `append` a new one created 0600). Refused with a DuoError ending in `fix` when the path is a
 * link, not a regular file, or belongs to another user. A file others may read or write is
 * refused for `read` (it may be a leaked secret) and tightened for `append` (a log, not a
 * credential).
 */
export function openPrivate(path: string, how: PrivateOpen, fix: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, how === 'read' ? O_RDONLY | O_NOFOLLOW : O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new DuoError(
        'forbidden',
        `${path} is a symbolic link; Duo never follows links for its private files. ${fix}`,
      );
    throw error;
  }
  try {
    checkDescriptor(fd, path, how, fix);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function checkDescriptor(fd: number, path: string, how: PrivateOpen, fix: string): void {
  const stat = fstatSync(fd);
  const uid = myUid();
  if (!stat.isFile()) throw new DuoError('forbidden', `${path} is not a regular file. ${fix}`);
  if (uid !== undefined && stat.uid !== uid) {
    throw new DuoError(
      'forbidden',
      `${path} belongs to another user (uid ${stat.uid}), not to you (uid ${uid}). ${fix}`,
    );
  }
  if (uid === undefined || (stat.mode & 0o077) === 0) return;
  if (how === 'append') fchmodSync(fd, 0o600);
  else throw new DuoError('forbidden', `${path} can be read by other users (mode ${octal(stat.mode)}). ${fix}`);
}

/**
 * Creates `path` with `text`, mode 0600, only when nothing (not even a link) is there:
 * O_CREAT|O_EXCL|O_NOFOLLOW. Throws EEXIST otherwise.
 */
export function createPrivate(path: string, text: string): void {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}
