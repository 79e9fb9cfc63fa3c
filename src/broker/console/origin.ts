/**
 * Which requests a page of the broker's own origin may make. The broker refuses every request
 * that carries a web Origin; the console is the one exception, and only for its own routes and
 * only from the exact origin it was loaded from (the Host the request names, which the guard
 * checks separately). Those routes then demand the console's session cookie or the owner token.
 */

const CONSOLE_PATH = /^\/(?:console\/.*|watch|conversations\/[^/?]+\/resume)$/;

export function isConsolePath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return CONSOLE_PATH.test(path);
}

/** True when `origin` is the origin a browser sends for a page loaded from `host` (over https when `secure`). */
export function isOwnOrigin(origin: string, host: string | undefined, secure = false): boolean {
  return host !== undefined && origin.toLowerCase() === `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** A browser's Sec-Fetch-Site, when present, must say the request comes from the console's own pages. */
export function isSameOriginFetch(secFetchSite: string | string[] | undefined): boolean {
  return secFetchSite === undefined || secFetchSite === 'same-origin' || secFetchSite === 'none';
}
