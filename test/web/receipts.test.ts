/**
 * Receipts in the console's thread view, in a real browser against a real broker: each message
 * shows per recipient how far it got, and the marks move live as a partner's session is handed
 * the message and as its model reads it; a reload shows the same from history.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { browserIt, browserMissing, launchBrowser } from '../helpers/browser.ts';
import { api, register, type Registered } from '../helpers/clients.ts';
import { mintLogin } from '../helpers/console.ts';
import { startPartner, type TestPartner } from '../helpers/mcp-partner.ts';

let broker: TestBroker;
let browser: Browser;
let bob: TestPartner;
let carol: Registered;

beforeAll(async () => {
  if (browserMissing) return;
  broker = await startBroker();
  bob = await startPartner(broker.url, { partnerId: 'bob' });
  carol = await register(broker.url, 'carol');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bob?.close();
  await broker?.close();
});

const receipt = (page: Page, messageId: string, partnerId: string, state: string) =>
  page.locator(`.message[data-id="${messageId}"] .receipt[data-partner="${partnerId}"][data-state="${state}"]`);

describe('receipts in the console', () => {
  browserIt('show per recipient stored, pushed and seen, and move live as they change', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const login = await mintLogin(broker, 'ada', 'Ada');
    await page.goto(`http://localhost:${broker.port}${login.path}`);
    await page.waitForURL('**/console/');
    await page.locator('.live.on').waitFor();

    // A group of the human, bob (a connected partner) and carol (a REST reader, not reading yet).
    await page.locator('summary').filter({ hasText: 'New group' }).click();
    await page.locator('.group-form input').first().fill('Release');
    await page.locator('.group-form input').nth(1).fill('bob, carol');
    await page.locator('.group-form button[type=submit]').click();
    await page.locator('.thread-header h2').filter({ hasText: 'Release' }).waitFor();
    await page.locator('.compose textarea').fill('Ship it on Friday?');
    await page.locator('.compose button[type=submit]').click();
    const sent = page.locator('.message.mine').filter({ hasText: 'Ship it on Friday?' });
    await sent.waitFor();
    const id = (await sent.getAttribute('data-id'))!;

    await receipt(page, id, 'bob', 'pushed').waitFor();
    await receipt(page, id, 'carol', 'stored').waitFor();
    expect(await page.locator(`.message[data-id="${id}"] .receipt[data-partner="ada"]`).count()).toBe(0);

    // bob's model reads it: live, without a reload.
    expect((await bob.call('listen', { timeout: 5 })).text).toContain('Ship it on Friday?');
    await receipt(page, id, 'bob', 'seen').waitFor();
    // carol's REST /listen response carries it.
    const read = await api(broker.url, 'GET', '/listen/carol?timeout=0', { secret: carol.secret });
    expect(read.body.messages.map((m: { content: string }) => m.content)).toContain('Ship it on Friday?');
    await receipt(page, id, 'carol', 'seen').waitFor();
    expect(await page.locator(`.message[data-id="${id}"] .receipt`).allTextContents()).toEqual(['✓✓ bob', '✓✓ carol']);

    // bob answers; carol has not read that one. A reload shows the same from history.
    await bob.call('talk', { message: 'Friday works.', conversation: (await conversationId(page))! });
    const answer = page.locator('.message').filter({ hasText: 'Friday works.' });
    await answer.waitFor();
    const answerId = (await answer.getAttribute('data-id'))!;
    await receipt(page, answerId, 'carol', 'stored').waitFor();
    await page.reload();
    await page.locator('.live.on').waitFor();
    await page.locator('.conversation').filter({ hasText: 'Release' }).locator('button').click();
    await receipt(page, id, 'bob', 'seen').waitFor();
    await receipt(page, id, 'carol', 'seen').waitFor();
    await receipt(page, answerId, 'carol', 'stored').waitFor();
    // The console marks what the human looks at read: ada's receipt of bob's answer turns seen.
    await receipt(page, answerId, 'ada', 'seen').waitFor();
    await context.close();
  });
});

async function conversationId(page: Page): Promise<string | null> {
  return page.locator('.thread-header .conversation-id').textContent();
}
