/**
 * The console over a big broker: 1,000 conversations and 100,000 messages (half of them in one
 * conversation), seeded straight into the database before the broker starts. Every API reply
 * is one bounded page, and the page renders only what it loaded, so the first load stays quick.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { openDatabase } from '../../src/broker/db.ts';
import { UNREAD_COUNT_CAP } from '../../src/shared/console-limits.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { browserIt, browserMissing, launchBrowser } from '../helpers/browser.ts';
import { consoleApi, consoleLogin, mintLogin } from '../helpers/console.ts';
import { figure } from '../helpers/scale.ts';

const AGENTS = 60;
const CONVERSATIONS = 1_000;
const MESSAGES = 100_000;
const BIG = 'direct:agent-00:agent-01';
/** Every API reply of the first load stays below this. */
const MAX_REPLY_BYTES = 64 * 1024;

let broker: TestBroker;
let browser: Browser | undefined;

async function seed(dbPath: string): Promise<void> {
  const { sqlite: opened, close } = await openDatabase(dbPath);
  const sqlite = opened!;
  const at = '2026-11-25T10:00:00.000Z';
  const agent = (i: number) => `agent-${String(i).padStart(2, '0')}`;
  const insertPartner = sqlite.prepare(
    "INSERT INTO partners (id, name, secret_hash, notifications, created_at, kind) VALUES (?, ?, ?, 0, ?, 'agent')",
  );
  const insertConversation = sqlite.prepare(
    'INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const insertMember = sqlite.prepare(
    'INSERT INTO members (conversation_id, partner_id, cursor, joined_at) VALUES (?, ?, 0, ?)',
  );
  const insertMessage = sqlite.prepare(
    'INSERT INTO messages (conversation_id, sender, content, created_at) VALUES (?, ?, ?, ?)',
  );
  sqlite.transaction(() => {
    for (let i = 0; i < AGENTS; i++) insertPartner.run(agent(i), `Agent ${i}`, `hash-${i}`, at);
    const conversations: Array<{ id: string; members: string[] }> = [];
    for (let a = 0; a < AGENTS && conversations.length < CONVERSATIONS - 100; a++) {
      for (let b = a + 1; b < AGENTS && conversations.length < CONVERSATIONS - 100; b++) {
        conversations.push({ id: `direct:${agent(a)}:${agent(b)}`, members: [agent(a), agent(b)] });
      }
    }
    for (let g = 0; conversations.length < CONVERSATIONS; g++) {
      const members = [0, 1, 2, 3].map((k) => agent((g * 7 + k * 13) % AGENTS));
      conversations.push({ id: `group_${String(g).padStart(8, '0')}`, members: [...new Set(members)] });
    }
    for (const c of conversations) {
      const kind = c.id.startsWith('direct:') ? 'direct' : 'group';
      insertConversation.run(
        c.id,
        kind,
        kind === 'group' ? `Team ${c.id.slice(-4)}` : c.members.join(' & '),
        c.members[0],
        at,
      );
      for (const member of c.members) insertMember.run(c.id, member, at);
    }
    const text = 'Status update: the migration ran, tests are green, next step is the deploy. '.repeat(3);
    for (let i = 0; i < MESSAGES; i++) {
      const c = i % 2 === 1 ? conversations[0]! : conversations[1 + ((i >> 1) % (CONVERSATIONS - 1))]!;
      insertMessage.run(c.id, c.members[(i >> 1) % c.members.length], `#${i} ${text}`, at);
    }
  })();
  await close();
}

beforeAll(async () => {
  const dir = tempDir();
  const started = Date.now();
  await seed(join(dir, 'duo.db'));
  figure('console scale: seeded', { conversations: CONVERSATIONS, messages: MESSAGES, ms: Date.now() - started });
  broker = await startBroker({ dbPath: join(dir, 'duo.db') });
  if (!browserMissing) browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
});

describe('with 1,000 conversations and 100,000 messages', () => {
  browserIt('answers the first load in bounded pages and renders only what it loaded', async () => {
    const auth = await consoleLogin(broker);
    const sizes: Record<string, number> = {};
    const times: Record<string, number> = {};
    for (const [name, path] of [
      ['conversations', '/console/api/conversations'],
      ['partners', '/console/api/partners'],
      ['history', `/console/api/conversations/${BIG}/messages`],
      ['conversation', `/console/api/conversations/${BIG}`],
    ] as const) {
      // The second of two calls: the first also pays for preparing its statements.
      await consoleApi(broker, auth, 'GET', path);
      const started = performance.now();
      const reply = await consoleApi(broker, auth, 'GET', path);
      times[name] = Math.round(performance.now() - started);
      expect(reply.status, path).toBe(200);
      sizes[name] = Buffer.byteLength(JSON.stringify(reply.body));
      expect(sizes[name], `${path} reply size`).toBeLessThan(MAX_REPLY_BYTES);
    }
    const first = await consoleApi(broker, auth, 'GET', '/console/api/conversations');
    expect(first.body.total).toBe(CONVERSATIONS);
    expect(first.body.conversations).toHaveLength(50);
    expect(first.body.conversations[0].id).toBe(BIG);
    expect(first.body.conversations[0].members).toEqual([
      { id: 'agent-00', unread: UNREAD_COUNT_CAP },
      { id: 'agent-01', unread: UNREAD_COUNT_CAP },
    ]);
    figure('console scale: API replies (bytes)', sizes);
    figure('console scale: API replies (ms)', times);

    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const login = await mintLogin(broker);
    await page.goto(`http://localhost:${broker.port}${login.path}`);
    await page.waitForURL('**/console/');
    await page.locator('.live.on').waitFor();
    const started = Date.now();
    await page.goto(`http://localhost:${broker.port}/console/`);
    await page.locator('.conversation').nth(49).waitFor();
    await page.locator('.live.on').waitFor();
    const firstLoadMs = Date.now() - started;
    expect(await page.locator('.conversation').count()).toBe(50);
    expect(await page.locator('.conversations-panel h2').textContent()).toBe('Conversations (1000)');

    const opened = Date.now();
    await page.locator(`.conversation[data-id="${BIG}"] button`).click();
    await page.locator('.message').nth(49).waitFor();
    const openMs = Date.now() - opened;
    expect(await page.locator('.message').count()).toBe(50);
    await page.locator('.scroller').evaluate((element) => (element.scrollTop = 0));
    await page.locator('.message').nth(99).waitFor();
    expect(await page.locator('.message').count()).toBe(100);
    const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    figure('console scale: browser', { firstLoadMs, openMs, domNodes });
    // Generous bounds for a shared two-core machine: a console that loaded everything would take far longer.
    expect(firstLoadMs).toBeLessThan(5_000);
    expect(domNodes).toBeLessThan(3_000);
    await context.close();
  });
});
