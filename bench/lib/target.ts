/** A server under measurement, as the scenarios see it: where to reach it and what it is. */
import { HttpClient } from './http.ts';
import type { ServerProcess } from './servers.ts';

export interface Target {
  /** "ours" for the broker, the anchor's name otherwise. */
  label: string;
  server: ServerProcess;
  http: HttpClient;
}

export function targetFor(label: string, server: ServerProcess): Target {
  return { label, server, http: new HttpClient(server.httpUrl) };
}

/** Waits until `done()` holds, polling; false if `timeoutMs` passed first. */
export async function waitFor(done: () => boolean, timeoutMs: number, pollMs = 2): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
