/**
 * The owner token as the broker's file holds it now. `duo token --rotate` replaces the file (a
 * new file renamed over the old one); the broker notices the replaced file at the next check
 * that needs the token and accepts only the new token from then on, without a restart. A
 * check costs one stat of the file; it is read again only when its inode, size or time changed.
 */
import { statSync } from 'node:fs';
import { ensureOwnerToken, tryReadOwnerToken } from '../shared/owner-token.ts';

export class OwnerTokenFile {
  private token: string;
  private seen: string;

  constructor(private readonly path: string) {
    this.token = ensureOwnerToken(path);
    this.seen = this.signature();
  }

  /** The token in the file; the last one read when the file is gone or cannot be read. */
  current(): string {
    const signature = this.signature();
    if (signature !== this.seen) {
      const token = tryReadOwnerToken(this.path);
      if (token !== undefined) {
        this.token = token;
        this.seen = signature;
      }
    }
    return this.token;
  }

  private signature(): string {
    const stat = statSync(this.path, { throwIfNoEntry: false, bigint: true });
    return stat === undefined ? '' : `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  }
}
