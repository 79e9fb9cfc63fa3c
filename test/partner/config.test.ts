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

  it('rejects a bad PARTNER_ID or BROKER_URL with a sentence', () => {
    expect(() => partnerConfigFromEnv({ PARTNER_ID: 'Bad Id' }, '/p')).toThrow(/partnerId/);
    expect(() => partnerConfigFromEnv({ BROKER_URL: 'ftp://x' }, '/p')).toThrow(
      /BROKER_URL entry "ftp:\/\/x" must start with http:\/\/ or https:\/\//,
    );
  });
});
