/**
 * The broker over TLS, and the rules for listening beyond loopback. A self-signed certificate is
 * made at test time with openssl; a broker serving it answers /health over https, `duo broker`
 * says https when it starts, and a child-process CLI and partner reach it (REST and a WSS hello)
 * once NODE_EXTRA_CA_CERTS names the certificate, and explain the refusal when it does not.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfigFromEnv } from '../../src/shared/config.ts';
import { freePort, startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { cliHome, LiveDuo, runDuo, type CliHome } from '../helpers/cli.ts';
import { callUntilOk, startStdioPartner } from '../helpers/stdio-partner.ts';
import { makeCertificate, opensslMissing } from '../helpers/tls-cert.ts';

if (opensslMissing)
  console.log('Skipping the TLS broker tests: openssl is not installed, so no certificate can be made.');

const TOKEN = 'a-team-access-token-of-32-chars!';

describe('listening beyond loopback', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('duo-tls-config-');
    writeFileSync(join(dir, 'cert.pem'), 'not checked here\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = () => ({ DUO_DB: join(dir, 'duo.db'), BROKER_HOST: '0.0.0.0' });

  it('needs the access token', () => {
    expect(() => brokerConfigFromEnv(base())).toThrow(/without an access token.*DUO_TOKEN/);
  });

  it('with the token, needs TLS or an explicit allowance, and names both ways out', () => {
    expect(() => brokerConfigFromEnv({ ...base(), DUO_TOKEN: TOKEN })).toThrow(
      /over plain HTTP.*--tls-cert FILE --tls-key FILE.*--allow-plain-http \(DUO_ALLOW_PLAIN_HTTP=1\)/,
    );
    expect(brokerConfigFromEnv({ ...base(), DUO_TOKEN: TOKEN, DUO_ALLOW_PLAIN_HTTP: '1' }).allowPlainHttp).toBe(true);
    expect(brokerConfigFromEnv({ ...base(), DUO_TOKEN: TOKEN }, { allowPlainHttp: true }).host).toBe('0.0.0.0');
    const tls = { DUO_TLS_CERT: join(dir, 'cert.pem'), DUO_TLS_KEY: join(dir, 'cert.pem') };
    expect(brokerConfigFromEnv({ ...base(), DUO_TOKEN: TOKEN, ...tls }).tlsCert).toBe(join(dir, 'cert.pem'));
  });

  it('refuses a certificate without its key, and files it cannot read', () => {
    expect(() => brokerConfigFromEnv({ DUO_DB: join(dir, 'duo.db'), DUO_TLS_CERT: join(dir, 'cert.pem') })).toThrow(
      /TLS needs both a certificate and its private key: set --tls-key \(DUO_TLS_KEY\) too, or neither/,
    );
    expect(() =>
      brokerConfigFromEnv(
        { DUO_DB: join(dir, 'duo.db') },
        { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'nope') },
      ),
    ).toThrow(/Cannot read the --tls-key file .*nope \(ENOENT\)/);
  });

  it('loopback stays as it was: no token, no TLS needed', () => {
    expect(brokerConfigFromEnv({ DUO_DB: join(dir, 'duo.db') }).host).toBe('127.0.0.1');
  });
});

describe.skipIf(opensslMissing)('a broker serving TLS', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let broker: TestBroker;

  beforeAll(async () => {
    dir = tempDir('duo-tls-');
    ({ cert, key } = makeCertificate(dir, ['DNS:localhost', 'IP:127.0.0.1']));
    broker = await startBroker({ tlsCert: cert, tlsKey: key });
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A request over https trusting only the test certificate. */
  function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', servername: 'localhost', port: broker.port, path, headers, ca: readFileSync(cert) },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text || 'null') }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('answers /health over https', async () => {
    const health = await get('/health', { host: `localhost:${broker.port}` });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true });
  });

  it('accepts its own https origin on console paths, and still refuses the http one', async () => {
    const host = `localhost:${broker.port}`;
    const own = await get('/console/api/me', { host, origin: `https://${host}` });
    expect(own.body?.code).not.toBe('origin_forbidden');
    const plain = await get('/console/api/me', { host, origin: `http://${host}` });
    expect(plain).toMatchObject({ status: 403, body: { code: 'origin_forbidden' } });
  });

  describe('`duo broker --tls-cert --tls-key`, its CLI and its partner', () => {
    let h: CliHome;
    let live: LiveDuo;
    let url: string;
    let trusted: Record<string, string>;

    beforeAll(async () => {
      h = cliHome();
      const port = await freePort();
      url = `https://localhost:${port}`;
      const args = [
        'broker',
        '--port',
        String(port),
        '--db',
        join(h.home, 'duo.db'),
        '--tls-cert',
        cert,
        '--tls-key',
        key,
      ];
      live = new LiveDuo(args, { env: { ...h.env, DUO_LOG_LEVEL: 'info' }, cwd: h.home });
      await live.waitFor('stderr', new RegExp(`listening on https://127\\.0\\.0\\.1:${port}`), 20_000);
      trusted = { ...h.env, BROKER_URL: url, NODE_EXTRA_CA_CERTS: cert };
    });
    afterAll(async () => {
      await live?.stop('SIGTERM');
    });

    it('says https when it starts, and `duo broker status` finds it', async () => {
      expect(live.stderr).toContain(`listening on https://`);
      const status = await runDuo(['broker', 'status', '--broker', url], { env: trusted, cwd: h.home });
      expect(status.stdout).toContain(`✓ A Duo broker answers at ${url}`);
    });

    it('a CLI and a partner that trust the certificate register, talk and say hello over WSS', async () => {
      const project = h.project('alice');
      const registered = await runDuo(['register'], { env: trusted, cwd: project });
      expect(registered.code, registered.stderr).toBe(0);
      const bob = await startStdioPartner(url, {
        partnerId: 'bob',
        env: {
          NODE_EXTRA_CA_CERTS: cert,
          DUO_OWNER_TOKEN_FILE: join(h.env.XDG_CONFIG_HOME!, 'claude-duo', 'owner-token'),
        },
      });
      try {
        await callUntilOk(bob, 'list_partners');
        // Online means its WebSocket (WSS) said hello and was welcomed.
        await expect
          .poll(async () => (await runDuo(['who'], { env: trusted, cwd: project })).stdout, { timeout: 15_000 })
          .toMatch(/ bob\s+online/);
        const sent = await runDuo(['send', 'bob', 'over tls'], { env: trusted, cwd: project });
        expect(sent.code, sent.stderr).toBe(0);
        const listened = await callUntilOk(bob, 'listen', { timeout: 5 });
        expect(listened.text).toContain('over tls');
      } finally {
        await bob.close();
      }
    });

    it('the hooks (over node:https) show a message and mark it read', async () => {
      const project = h.project('carol');
      expect((await runDuo(['register'], { env: trusted, cwd: project })).code).toBe(0);
      expect(
        (await runDuo(['send', 'carol', 'over tls to a hook'], { env: trusted, cwd: h.project('alice') })).code,
      ).toBe(0);
      const hook = await runDuo(['hook', 'user-prompt-submit'], {
        env: trusted,
        cwd: h.home,
        input: JSON.stringify({ session_id: 'tls-1', cwd: project, prompt: 'hi' }),
      });
      expect(hook.code, hook.stderr).toBe(0);
      expect(JSON.parse(hook.stdout).hookSpecificOutput.additionalContext).toContain('over tls to a hook');
      const again = await runDuo(['hook', 'user-prompt-submit'], {
        env: trusted,
        cwd: h.home,
        input: JSON.stringify({ session_id: 'tls-1', cwd: project, prompt: 'hi' }),
      });
      expect(again.stdout).toBe('');
    });

    it('a CLI that does not trust the certificate says how to make it trusted', async () => {
      const project = h.project('alice');
      const { NODE_EXTRA_CA_CERTS: _ca, ...untrusted } = trusted;
      const run = await runDuo(['who'], { env: untrusted, cwd: project });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/presented a TLS certificate this machine does not trust \(\w+\)/);
      expect(run.stderr).toContain('set NODE_EXTRA_CA_CERTS');
    });
  });
});
