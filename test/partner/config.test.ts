import { describe, expect, it } from 'vitest';
import { partnerConfigFromEnv } from '../../src/partner/config.ts';

describe('partner config', () => {
  it('reads the seed variables with their defaults', () => {
    const config = partnerConfigFromEnv({ XDG_CONFIG_HOME: '/x' }, '/home/u/My Project');
    expect(config.brokerUrl).toBe('http://localhost:3210');
    expect(config.projectDir).toBe('/home/u/My Project');
    expect(config.secretsFile).toBe('/x/claude-duo/secrets.json');
    expect(config.partnerId).toBeUndefined();
  });

  it('takes PARTNER_ID, PARTNER_NAME, DUO_TOKEN and CLAUDE_PROJECT_DIR', () => {
    const config = partnerConfigFromEnv(
      {
        BROKER_URL: 'http://127.0.0.1:4000/',
        PARTNER_ID: 'alice',
        PARTNER_NAME: 'Alice A',
        DUO_TOKEN: 't',
        CLAUDE_PROJECT_DIR: '/p',
      },
      '/elsewhere',
    );
    expect(config).toMatchObject({
      brokerUrl: 'http://127.0.0.1:4000',
      partnerId: 'alice',
      name: 'Alice A',
      token: 't',
      projectDir: '/p',
    });
  });

  it('takes a list of brokers in BROKER_URL, normalised, naming a bad entry', () => {
    expect(
      partnerConfigFromEnv({ BROKER_URL: ' https://a.example:3210/ , https://b.example:3210' }, '/p').brokerUrl,
    ).toBe('https://a.example:3210,https://b.example:3210');
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'https://a.example,nope' }, '/p')).toThrow(
      /BROKER_URL entry "nope" is not a URL/,
    );
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'https://a.example,https://me:pw@b.example' }, '/p')).toThrow(
      /BROKER_URL entry "https:\/\/me:pw@b.example" must not carry a user name or password; set DUO_TOKEN/,
    );
    expect(() => partnerConfigFromEnv({ BROKER_URL: ' , ' }, '/p')).toThrow(/at least one broker/);
  });

  it('refuses plain http to a broker on another machine unless DUO_ALLOW_PLAIN_HTTP=1', () => {
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'https://a.example,http://192.0.2.7:3210' }, '/p')).toThrow(
      /Refusing to send .* over plain http to http:\/\/192\.0\.2\.7:3210.*Use https:\/\/192\.0\.2\.7:3210.*DUO_ALLOW_PLAIN_HTTP=1/,
    );
    const allowed = partnerConfigFromEnv({ BROKER_URL: 'http://192.0.2.7:3210', DUO_ALLOW_PLAIN_HTTP: '1' }, '/p');
    expect(allowed).toMatchObject({ brokerUrl: 'http://192.0.2.7:3210', allowPlainHttp: true });
    expect(partnerConfigFromEnv({ BROKER_URL: 'http://127.0.0.1:3210' }, '/p').allowPlainHttp).toBe(false);
  });

  it('rejects a bad PARTNER_ID or BROKER_URL with a sentence', () => {
    expect(() => partnerConfigFromEnv({ PARTNER_ID: 'Bad Id' }, '/p')).toThrow(/partnerId/);
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'ftp://x' }, '/p')).toThrow(
      /BROKER_URL entry "ftp:\/\/x" must start with http:\/\/ or https:\/\//,
    );
  });
});
