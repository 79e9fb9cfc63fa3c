/**
 * A real browser for the console tests: Debian's Chromium driven by playwright-core. Without
 * /usr/bin/chromium the browser tests are skipped with that reason, never passed silently.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { it } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserMissing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`;

/** `it` when Chromium is installed; otherwise `it.skip`, with the reason in the test's name. */
export const browserIt: typeof it = browserMissing
  ? (((name: string, ...rest: unknown[]) =>
      (it.skip as (...args: unknown[]) => void)(`${name} [skipped: ${browserMissing}]`, ...rest)) as typeof it)
  : it;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium floods a closed network with refused connections.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
