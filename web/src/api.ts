/**
 * The console's calls to its broker: same origin, JSON in and out, authenticated by both halves
 * of the session: the cookie the browser sends, and the page key kept in this tab's
 * sessionStorage (per origin, port included, so another server on localhost that receives the
 * cookie never has it). A refusal becomes an ApiError carrying the broker's sentence, shown as
 * it is.
 */

const PAGE_KEY = 'duo-page-key';

/** The page's half of the console session, if this tab logged in. */
export function pageKey(): string | undefined {
  return sessionStorage.getItem(PAGE_KEY) ?? undefined;
}

export function setPageKey(key: string | undefined): void {
  if (key === undefined) sessionStorage.removeItem(PAGE_KEY);
  else sessionStorage.setItem(PAGE_KEY, key);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    const key = pageKey();
    response = await fetch(path, {
      method,
      headers: {
        ...(body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' }),
        ...(key === undefined ? {} : { 'x-duo-session': key }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'unavailable', 'The broker is not reachable. Is it still running?');
  }
  const json = (await response.json().catch(() => undefined)) as { error?: string; code?: string } | undefined;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      json?.code ?? 'internal',
      json?.error ?? `The broker answered HTTP ${response.status}.`,
    );
  }
  return json as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
