/**
 * A page on another origin, in the same browser where the human is logged in to the console,
 * tries every way a page has to read from or write through the broker: CORS and no-cors fetches,
 * a JSON post, a text/plain post, a form post, the watch WebSocket, a cross-origin script, a
 * frame of the console and a resume of a held conversation. Both a same-site origin
 * (localhost on another port, which gets the SameSite=Strict cookie) and a cross-site one
 * (127.0.0.1) are tried. Nothing may be read, and nothing may change on the broker.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { browserIt, browserMissing, launchBrowser } from '../helpers/browser.ts';
import { mintLogin } from '../helpers/console.ts';
import { api, register, talk } from '../helpers/clients.ts';
import { figure } from '../helpers/scale.ts';

let broker: TestBroker;
let browser: Browser;
let evil: Server;
let evilPort: number;

/** The attacker's page: runs each attempt and leaves what it could read in window.results. */
function evilPage(target: string): string {
  const script = `
const B = ${JSON.stringify(target)};
const results = {};
const attempt = async (name, fn) => {
  try { results[name] = await fn(); } catch (error) { results[name] = 'blocked: ' + error.name; }
};
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  await attempt('cors read', async () => 'read: ' + (await (await fetch(B + '/console/api/conversations', { credentials: 'include' })).text()));
  await attempt('no-cors read', async () => {
    const r = await fetch(B + '/console/api/me', { credentials: 'include', mode: 'no-cors' });
    const text = await r.text();
    return text === '' ? 'opaque' : 'read: ' + text;
  });
  await attempt('json post', async () => 'status ' + (await fetch(B + '/console/api/talk', {
    method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: 'alice', content: 'csrf json' }) })).status);
  await attempt('text post', async () => {
    const r = await fetch(B + '/console/api/talk', { method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ to: 'alice', content: 'csrf text' }) });
    return r.type === 'opaque' ? 'opaque' : 'read: ' + (await r.text());
  });
  await attempt('resume post', async () => {
    const r = await fetch(B + '/conversations/direct:alice:bob/resume', { method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' }, body: '{}' });
    return r.type;
  });
  await attempt('logout post', async () => {
    const r = await fetch(B + '/console/api/logout', { method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' }, body: '{}' });
    return r.type;
  });
  await attempt('watch socket', () => new Promise((resolve) => {
    const ws = new WebSocket(B.replace('http', 'ws') + '/watch');
    let got = 'nothing';
    ws.onmessage = (e) => { got = 'read: ' + e.data; };
    ws.onopen = () => { got = 'opened'; };
    ws.onclose = () => resolve('closed, ' + got);
    setTimeout(() => resolve('timeout, ' + got), 3000);
  }));
  await attempt('script include', () => new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = B + '/console/api/conversations';
    s.onload = () => resolve('loaded');
    s.onerror = () => resolve('error');
    document.body.appendChild(s);
  }));
  await attempt('form post', async () => {
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.appendChild(frame);
    const form = document.createElement('form');
    form.method = 'POST'; form.action = B + '/console/api/talk'; form.target = 'sink';
    form.enctype = 'text/plain';
    const field = document.createElement('input');
    field.name = '{"to":"alice","content":"csrf form","x":"'; field.value = '"}';
    form.appendChild(field);
    document.body.appendChild(form);
    form.submit();
    await wait(1000);
    return 'submitted';
  });
  await attempt('frame', async () => {
    const frame = document.createElement('iframe');
    frame.id = 'console-frame';
    frame.src = B + '/console/';
    document.body.appendChild(frame);
    await wait(1000);
    try { return 'read: ' + frame.contentDocument.body.textContent; } catch (e) { return 'blocked: ' + e.name; }
  });
  window.results = results;
})();`;
  return `<!doctype html><html><body><h1>Totally harmless page</h1><script>${script}</script></body></html>`;
}

beforeAll(async () => {
  if (browserMissing) return;
  broker = await startBroker({ loopGuard: '2/60s' });
  evil = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(evilPage(`http://localhost:${broker.port}`));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilPort = (evil.address() as AddressInfo).port;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await broker?.close();
});

describe('a page on another origin', () => {
  browserIt('can neither read from nor write through the broker, even with the console logged in', async () => {
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    await talk(broker.url, alice, { to: 'bob', content: 'secret plans' });
    await talk(broker.url, bob, { to: 'alice', content: 'more secret plans' });
    expect((await talk(broker.url, alice, { to: 'bob', content: 'held' })).status).toBe(423);
    const messagesBefore = broker.broker.database.sqlite!.prepare('SELECT count(*) AS n FROM messages').get();

    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const login = await mintLogin(broker, 'ada');
    await page.goto(`http://localhost:${broker.port}${login.path}`);
    await page.waitForURL('**/console/');
    await page.locator('.live.on').waitFor();

    const statuses: string[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(`http://localhost:${broker.port}/`))
        statuses.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
    });
    page.on('requestfailed', (request) => {
      if (request.url().startsWith(`http://localhost:${broker.port}/`))
        statuses.push(`${request.method()} ${new URL(request.url()).pathname} failed: ${request.failure()?.errorText}`);
    });
    const outcomes: Record<string, Record<string, string>> = {};
    for (const origin of [`http://localhost:${evilPort}`, `http://127.0.0.1:${evilPort}`]) {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as any).results !== undefined, undefined, { timeout: 20_000 });
      const results = (await page.evaluate(() => (window as any).results)) as Record<string, string>;
      outcomes[origin] = results;
      const frame = page.frames().find((f) => f.url().includes('/console/') || f.url().startsWith('chrome-error'));
      expect(
        await frame
          ?.locator('#app')
          .count()
          .catch(() => 0),
      ).toBe(0);
    }
    figure('cross-origin attempts', { origins: 2, attempts: Object.keys(Object.values(outcomes)[0]!).length * 2 });

    for (const [origin, results] of Object.entries(outcomes)) {
      for (const [name, result] of Object.entries(results)) {
        expect(result, `${origin} ${name}`).not.toMatch(/^read|opened|loaded/);
        expect(result, `${origin} ${name}`).not.toMatch(/secret plans|"ada"/);
      }
      expect(results['cors read'], origin).toMatch(/^blocked/);
      expect(results['json post'], origin).toMatch(/^blocked/);
    }
    // Every write was refused by the broker (403, by origin) or its answer withheld by the browser.
    const writes = statuses.filter((s) => s.startsWith('POST') || s.startsWith('OPTIONS'));
    expect(writes.length).toBeGreaterThanOrEqual(10);
    for (const write of writes) expect(write).toMatch(/ 403$|failed: net::ERR_/);

    // Nothing changed: no message, the hold stands, the human is still logged in.
    expect(broker.broker.database.sqlite!.prepare('SELECT count(*) AS n FROM messages').get()).toEqual(messagesBefore);
    const holds = await api(broker.url, 'GET', '/holds', { headers: { 'x-duo-token': broker.broker.ownerToken } });
    expect(holds.body.holds).toHaveLength(1);
    await page.goto(`http://localhost:${broker.port}/console/`);
    await page.locator('.live.on').waitFor();
    await context.close();
  });
});
