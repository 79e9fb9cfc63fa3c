/**
 * The owner token as the broker's file holds it now. `duo token --rotate` replaces the file (a
 * new file renamed over the old one); the broker notices at the next check that needs the token
 * and accepts only the new token from then on, without a restart. A file that is removed or
 * becomes unacceptable (a link, another user's, readable by others) gives no token until a good
 * one is there again. A check costs one lstat; the file is read again only when it changed.
 */
import { lstatSync } from 'node:fs';
import { ensureOwnerToken, tryReadOwnerToken } from '../shared/owner-token.ts';

export class OwnerTokenFile {
  private token: string | undefined;
  private seen: string;

  constructor(private readonly path: string) {
    this.token = ensureOwnerToken(path);
    this.seen = this.signature();
  }

  /** The token in the file, or undefined while there is no acceptable one. */
  current(): string | undefined {
    const signature = this.signature();
    if (signature !== this.seen) {
      this.seen = signature;
      this.token = tryReadOwnerToken(this.path);
    }
    return this.token;
  }

  private signature(): string {
    const stat = lstatSync(this.path, { throwIfNoEntry: false, bigint: true });
    return stat === undefined
      ? ''
      : `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.mode}:${stat.uid}`;
  }
}
