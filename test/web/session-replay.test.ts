/**
 * Another server on localhost replays the console's cookie. Cookies ignore ports, so a server
 * on another localhost port that the logged-in browser visits receives the broker's session
 * cookie (this test checks that it really does); it then replays it against the broker's API
 * and watch stream, and reads nothing, since the session also needs the page key that only the
 * console's own tab holds in sessionStorage. The console itself keeps working in its tab,
 * across a reload; logging out there closes its watch stream.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { browserIt, browserMissing, launchBrowser } from '../helpers/browser.ts';
import { consoleApi, mintLogin } from '../helpers/console.ts';

let broker: TestBroker;
let browser: Browser;
let other: Server;
let otherPort: number;
/** Every Cookie header the other server received. */
const received: string[] = [];

beforeAll(async () => {
  if (browserMissing) return;
  broker = await startBroker();
  other = createServer((request, response) => {
    if (request.headers.cookie) received.push(request.headers.cookie);
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>another local app</title><p>Hello.</p>');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherPort = (other.address() as AddressInfo).port;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => other?.close(resolve));
  await broker?.close();
});

/** Whether the broker's /watch opens with these headers, or its refusal status. */
function watchWith(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://localhost:${broker.port}/watch`, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (request, response) => {
      request.destroy();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', () => resolve(0));
  });
}

describe('a console cookie replayed by another local server', () => {
  browserIt('reads nothing from the broker, while the console keeps working in its own tab', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const login = await mintLogin(broker, 'ada', 'Ada');
    await page.goto(`http://localhost:${broker.port}${login.path}`);
    await page.waitForURL('**/console/');
    await page.locator('.live.on').waitFor();
    // The page's half of the session is in this tab's sessionStorage, out of the cookie jar.
    const pageKey = await page.evaluate(() => sessionStorage.getItem('duo-page-key'));
    expect(pageKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The browser visits another app on localhost: it is sent the console's cookie.
    const visit = await context.newPage();
    await visit.goto(`http://localhost:${otherPort}/`);
    const name = `duo_console_${broker.port}`;
    const stolen = received.map((header) => header.split(/;\s*/).find((c) => c.startsWith(`${name}=`))).find(Boolean);
    expect(stolen, 'the other server received the console cookie').toBeDefined();
    // Its page cannot read the console's sessionStorage: that belongs to the broker's origin.
    expect(await visit.evaluate(() => sessionStorage.length)).toBe(0);

    // Replayed, the cookie alone is no session: not on the API, not on the watch stream.
    const me = await consoleApi(broker, { cookie: stolen! }, 'GET', '/console/api/me');
    expect(me).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(await watchWith({ cookie: stolen! })).toBe(401);
    // A new tab of the same browser has the cookie but not the key: it is asked to log in.
    const fresh = await context.newPage();
    await fresh.goto(`http://localhost:${broker.port}/console/`);
    await fresh.getByText('Not logged in', { exact: true }).waitFor();

    // The console's own tab still works, and after a reload too.
    await page.reload();
    await page.locator('.top .you').filter({ hasText: 'You are Ada (ada)' }).waitFor();
    await page.locator('.live.on').waitFor();
    // Both halves together are the session (the key could only come from that tab).
    expect(
      (await consoleApi(broker, { cookie: stolen!, 'x-duo-session': pageKey! }, 'GET', '/console/api/me')).status,
    ).toBe(200);

    // Logging out ends it: the page shows the login hint, and the pair no longer works.
    await page.locator('button.logout').click();
    await page.getByText('Not logged in', { exact: true }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('duo-page-key'))).toBeNull();
    expect(
      (await consoleApi(broker, { cookie: stolen!, 'x-duo-session': pageKey! }, 'GET', '/console/api/me')).status,
    ).toBe(401);
    await context.close();
  });
});
