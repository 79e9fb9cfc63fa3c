import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOTICE_START, withNotice } from '../../src/broker/notice.ts';
import { waitFor } from '../helpers/scale.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let project: string;
let alice: Registered;
let bob: Registered;

/** Waits until `check` holds (polling), or fails naming `what`. */
const until = (check: () => boolean, what: string) => waitFor(check, 3000, what, 25);

const claudeMd = () => join(project, 'CLAUDE.md');
const read = () => (existsSync(claudeMd()) ? readFileSync(claudeMd(), 'utf8') : '');

beforeEach(async () => {
  broker = await startBroker();
  project = realpathSync(tempDir('duo-project-'));
  // A notice goes only into a folder that looks like a project.
  mkdirSync(join(project, '.git'));
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob', { projectPath: project });
});
afterEach(async () => broker.close());

describe('offline notice in CLAUDE.md', () => {
  it('shows counts and sender ids, never the text, and goes away once read', async () => {
    writeFileSync(claudeMd(), '# Project rules\n\nBe nice.\n');
    await talk(broker.url, alice, { to: 'bob', content: 'the secret plan' });
    await talk(broker.url, alice, { to: 'bob', content: 'part two' });
    await until(() => read().includes('2 unread'), 'the notice');
    const text = read();
    expect(text.startsWith('# Project rules\n\nBe nice.\n')).toBe(true);
    expect(text).toContain('- 2 from partner id "alice" in "direct:alice:bob"');
    expect(text).not.toContain('secret plan');

    await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    await until(() => !read().includes(NOTICE_START), 'the notice to go');
    expect(read()).toBe('# Project rules\n\nBe nice.\n');
  });

  it('creates CLAUDE.md when missing and removes it again when it held only the notice', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'hi' });
    await until(() => read().includes('1 unread message'), 'the notice');
    const b = await connect(broker.url, bob);
    const [message] = await b.until((c) => c.messages().length === 1).then(() => b.messages());
    b.send({ type: 'ack', conversationId: message!.conversationId, upTo: message!.id });
    await until(() => !existsSync(claudeMd()), 'CLAUDE.md to be removed');
    b.close();
  });

  it('writes nothing while the partner is online', async () => {
    const b = await connect(broker.url, bob);
    await talk(broker.url, alice, { to: 'bob', content: 'live' });
    await b.frame('message');
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(claudeMd())).toBe(false);
    b.close();
  });

  it('never follows a symlinked CLAUDE.md', async () => {
    const elsewhere = join(tempDir('duo-elsewhere-'), 'victim.md');
    writeFileSync(elsewhere, 'do not touch\n');
    symlinkSync(elsewhere, claudeMd());
    await talk(broker.url, alice, { to: 'bob', content: 'hi' });
    await new Promise((r) => setTimeout(r, 600));
    expect(readFileSync(elsewhere, 'utf8')).toBe('do not touch\n');
    expect(lstatSync(claudeMd()).isSymbolicLink()).toBe(true);
    expect(readlinkSync(claudeMd())).toBe(elsewhere);
  });

  it('never writes through a symlinked project directory', async () => {
    const real = realpathSync(tempDir('duo-real-'));
    mkdirSync(join(real, '.git'));
    const link = join(tempDir('duo-links-'), 'proj');
    symlinkSync(real, link);
    const carol = await register(broker.url, 'carol', { projectPath: link });
    expect(carol.secret).toBeTruthy();
    await talk(broker.url, alice, { to: 'carol', content: 'hi' });
    await new Promise((r) => setTimeout(r, 600));
    expect(existsSync(join(real, 'CLAUDE.md'))).toBe(false);
  });

  it('is removed when notifications are turned off, and not written while off', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'hi' });
    await until(() => read().includes(NOTICE_START), 'the notice');
    await api(broker.url, 'POST', '/partners/bob/notifications', { secret: bob.secret, body: { enabled: false } });
    await until(() => !existsSync(claudeMd()), 'the notice to go');
    await talk(broker.url, alice, { to: 'bob', content: 'again' });
    await new Promise((r) => setTimeout(r, 600));
    expect(existsSync(claudeMd())).toBe(false);
  });

  it('replaces an existing block in place instead of adding another', () => {
    const once = withNotice('intro\n', `${NOTICE_START}\nA\n<!-- claude-duo:unread:end -->`);
    const twice = withNotice(once + 'outro\n', `${NOTICE_START}\nB\n<!-- claude-duo:unread:end -->`);
    expect(twice.match(/claude-duo:unread:start/g)).toHaveLength(1);
    expect(twice).toContain('B');
    expect(twice).toContain('outro');
    expect(withNotice(twice, undefined)).toBe('intro\n\noutro\n');
  });
});
