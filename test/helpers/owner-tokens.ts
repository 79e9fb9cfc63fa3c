/**
 * Which owner-token file belongs to which test broker, so the harnesses carry the token the way
 * a real user's processes do: `register()` and `api()` send it on /register, partner and CLI
 * harnesses get `DUO_OWNER_TOKEN_FILE` pointing at the file. Each broker harness records its
 * URL here when it starts.
 */
import { tryReadOwnerToken } from '../../src/shared/owner-token.ts';

const files = new Map<string, string>();

function key(brokerUrl: string): string {
  return brokerUrl.replace(/\/+$/, '');
}

export function rememberOwnerTokenFile(brokerUrl: string, path: string): void {
  files.set(key(brokerUrl), path);
}

/** The owner-token file of the test broker at `brokerUrl`, when a harness started it. */
export function ownerTokenFileFor(brokerUrl: string): string | undefined {
  return files.get(key(brokerUrl));
}

/** The owner token of the test broker at `brokerUrl`, when a harness started it. */
export function ownerTokenFor(brokerUrl: string): string | undefined {
  const path = ownerTokenFileFor(brokerUrl);
  return path === undefined ? undefined : tryReadOwnerToken(path);
}

/** `DUO_OWNER_TOKEN_FILE` for a child or config of the same user, when the broker is known. */
export function ownerTokenEnv(brokerUrl: string): Record<string, string> {
  const path = ownerTokenFileFor(brokerUrl);
  return path === undefined ? {} : { DUO_OWNER_TOKEN_FILE: path };
}
