/**
 * The web console in a real browser against a real broker and real partners (the partner's MCP
 * server driven by the MCP SDK client): logging in with the one-time URL, live messages, sending
 * as the human, the loop guard's hold and resume, and peer text shown as text.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { browserIt, browserMissing, launchBrowser } from '../helpers/browser.ts';
import { mintLogin } from '../helpers/console.ts';
import { figure } from '../helpers/scale.ts';
import { startPartner, type TestPartner } from '../helpers/mcp-partner.ts';

/** The README's screenshot is refreshed with UPDATE_SCREENSHOT=1; otherwise it goes to a temporary file. */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? new URL('../../docs/console.png', import.meta.url).pathname
    : join(tmpdir(), `duo-console-${process.pid}.png`);

let broker: TestBroker;
let browser: Browser;
let alice: TestPartner;
let bob: TestPartner;

beforeAll(async () => {
  if (browserMissing) return;
  broker = await startBroker({ loopGuard: '6/60s' });
  [alice, bob] = await Promise.all([
    startPartner(broker.url, { partnerId: 'alice', name: 'Alice (backend)' }),
    startPartner(broker.url, { partnerId: 'bob', name: 'Bob (frontend)' }),
  ]);
  await alice.call('set_status', { message: 'reviewing the token refresh path' });
  await bob.call('set_status', { message: 'refactoring the login form' });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([alice?.close(), bob?.close()]);
  await broker?.close();
});

/** A fresh browser profile logged in as the human `ada`, on the console page. */
async function loggedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const login = await mintLogin(broker, 'ada', 'Ada');
  await page.goto(`http://localhost:${broker.port}${login.path}`);
  await page.waitForURL('**/console/');
  await page.locator('.live.on').waitFor();
  return { context, page };
}

const conversationRow = (page: Page, id: string) => page.locator(`.conversation[data-id="${id}"]`);

describe('the web console', () => {
  browserIt(
    'logs in with the one-time URL, which fails a second time; the session cookie is out of reach',
    async () => {
      const login = await mintLogin(broker, 'ada', 'Ada');
      const url = `http://localhost:${broker.port}${login.path}`;
      const first = await browser.newContext();
      const page = await first.newPage();
      await page.goto(url);
      await page.waitForURL('**/console/');
      await page.locator('.top .you').filter({ hasText: 'You are Ada (ada)' }).waitFor();
      // The code is gone from the address bar and history; the cookie is HttpOnly and Strict.
      expect(page.url()).toBe(`http://localhost:${broker.port}/console/`);
      const [cookie] = await first.cookies();
      expect(cookie).toMatchObject({
        name: `duo_console_${broker.port}`,
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
      });
      expect(await page.evaluate(() => document.cookie)).toBe('');

      const second = await browser.newContext();
      const again = await second.newPage();
      await again.goto(url);
      await again.getByText('Login failed').waitFor();
      await again.getByText(/already used or has expired/).waitFor();
      await again.goto(`http://localhost:${broker.port}/console/`);
      await again.getByText('Not logged in', { exact: true }).waitFor();
      expect(await second.cookies()).toEqual([]);

      // Logging out ends the session on the broker, not only in this browser.
      await page.locator('button.logout').click();
      await page.getByText('Not logged in', { exact: true }).waitFor();
      const sessions = broker.broker.database.sqlite!.prepare('SELECT count(*) AS n FROM console_sessions').get();
      expect(sessions).toEqual({ n: 0 });
      await Promise.all([first.close(), second.close()]);
    },
  );

  browserIt(
    'shows nothing of a conversation until one is chosen, and the human online to agents while the console is open',
    async () => {
      await bob.call('talk', { message: 'Ada, a question about the login form.', to: 'ada' });
      const adaOnline = async () => /^🟢 ada\b/m.test((await alice.call('list_partners')).text);
      const { context, page } = await loggedIn();
      await page.getByText('Choose a conversation').waitFor();
      for (const selector of ['.hold-banner', '.more.older', '.composer', '.compose textarea'])
        expect(await page.locator(selector).isVisible(), selector).toBe(false);
      // An agent sees the human at the console.
      await expect.poll(adaOnline, { timeout: 5_000 }).toBe(true);

      await conversationRow(page, 'direct:ada:bob').locator('button').click();
      await page.locator('.message .text').filter({ hasText: 'a question about the login form' }).waitFor();
      expect(await page.locator('.compose textarea').isVisible()).toBe(true);
      // Not held, and no older page: neither the hold strip nor the paging button.
      expect(await page.locator('.hold-banner').isVisible()).toBe(false);
      expect(await page.locator('.more.older').isVisible()).toBe(false);

      // Closing the console leaves the human offline.
      await context.close();
      await expect.poll(adaOnline, { timeout: 5_000 }).toBe(false);
    },
  );

  browserIt('sends as the human to a real partner, and shows its answer within a second', async () => {
    const { context, page } = await loggedIn();
    await page.locator('.partner[data-id="alice"] button').click();
    await page.getByText('New message to alice').waitFor();
    await page.locator('.compose textarea').fill('Hi Alice, how is the review going?');
    await page.locator('.compose button[type=submit]').click();
    await page.locator('.message .text').filter({ hasText: 'how is the review going' }).waitFor();
    await expect.poll(() => page.locator('.thread-header h2').textContent()).toBe('alice');

    const heard = await alice.call('listen', { timeout: 5 });
    expect(heard.text).toMatch(
      /<peer_message from="ada" conversation="direct:ada:alice"[^>]*>\nHi Alice, how is the review going\?/,
    );

    const started = Date.now();
    await alice.call('talk', { message: 'Almost done: the refresh races with logout.', to: 'ada' });
    await page
      .locator('.message .text')
      .filter({ hasText: 'the refresh races with logout' })
      .waitFor({ timeout: 1_000 });
    const ms = Date.now() - started;
    figure('console: partner message to screen', { ms });
    expect(ms).toBeLessThan(1_000);
    await context.close();
  });

  browserIt('shows a <script> in a message as text and never runs it', async () => {
    const { context, page } = await loggedIn();
    const hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & <b>bold?</b>';
    await bob.call('talk', { message: hostile, to: 'ada' });
    await conversationRow(page, 'direct:ada:bob').locator('button').click();
    const text = page.locator('.message .text').filter({ hasText: 'window.__pwned' });
    await text.waitFor();
    expect(await text.textContent()).toBe(hostile);
    expect(await page.locator('.messages img, .messages script, .messages b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await context.close();
  });

  browserIt('holds two agents answering each other, and resumes with a click', async () => {
    const { context, page } = await loggedIn();
    const created = await alice.call('create_conversation', { name: 'Auth refactor', participants: 'bob' });
    const groupId = /group_[a-z0-9]+/.exec(created.text)![0];
    const lines = [
      [alice, 'Bob, the refresh token now rotates on every use. Can you update the login form?'],
      [bob, 'On it. Should the form retry once when the refresh fails?'],
      [alice, 'Yes, once, then log out. Thanks!'],
      [bob, 'Thank you! Let me know if you need anything else.'],
      [alice, 'Thanks, will do! Let me know too.'],
      [bob, 'Will do, thanks again!'],
    ] as const;
    for (const [who, message] of lines) {
      const sent = await who.call('talk', { message, conversation: groupId });
      expect(sent.isError, sent.text).toBe(false);
    }
    const held = await alice.call('talk', { message: 'Thanks again to you!', conversation: groupId });
    expect(held.isError).toBe(true);
    expect(held.text).toMatch(/is on hold: its agents sent 6 messages within 1 min/);

    await conversationRow(page, groupId).locator('.badge.held').waitFor();
    await conversationRow(page, groupId).locator('button').click();
    const banner = page.locator('.hold-banner');
    await banner.getByText(/its agents sent 6 messages within 1 min with no message from a human/).waitFor();
    await page.locator('.message .text').filter({ hasText: 'Will do, thanks again!' }).waitFor();
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    if (process.env.UPDATE_SCREENSHOT !== '1') rmSync(SCREENSHOT);

    await banner.locator('button.resume').click();
    await banner.waitFor({ state: 'hidden' });
    await conversationRow(page, groupId).locator('.badge.held').waitFor({ state: 'detached' });
    const after = await bob.call('talk', {
      message: 'Back to work: the form retries once now.',
      conversation: groupId,
    });
    expect(after.isError, after.text).toBe(false);
    await page.locator('.message .text').filter({ hasText: 'the form retries once now' }).waitFor();

    // Writing in the group as the human joins it and resets the budget.
    await page.locator('.compose textarea').fill('Good. Please stop thanking each other :)');
    await page.locator('.compose textarea').press('Control+Enter');
    await page.locator('.message.mine .text').filter({ hasText: 'stop thanking' }).waitFor();
    await page.locator('.member[data-id="ada"]').waitFor();
    await context.close();
  });

  browserIt('creates a group with partners from the console', async () => {
    const { context, page } = await loggedIn();
    await page.locator('summary').filter({ hasText: 'New group' }).click();
    await page.locator('.group-form input').first().fill('Release');
    await page.locator('.group-form input').nth(1).fill('alice, bob');
    await page.locator('.group-form button[type=submit]').click();
    await page.locator('.thread-header h2').filter({ hasText: 'Release' }).waitFor();
    for (const id of ['ada', 'alice', 'bob']) await page.locator(`.thread-header .member[data-id="${id}"]`).waitFor();
    const listed = await alice.call('list_conversations');
    expect(listed.text).toContain('Release');
    await context.close();
  });
});
