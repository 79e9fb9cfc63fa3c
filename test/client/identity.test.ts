import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidateIds, preferredPartnerId } from '../../src/client/identity.ts';
import { SecretStore } from '../../src/client/secrets.ts';
import { fallbackPartnerId } from '../../src/shared/ids.ts';

describe('identity', () => {
  it('prefers PARTNER_ID, else the folder slug, and tries the path-hashed fallback next', () => {
    expect(preferredPartnerId({ projectDir: '/home/u/My App', partnerId: undefined })).toBe('my-app');
    expect(preferredPartnerId({ projectDir: '/home/u/My App', partnerId: 'alice' })).toBe('alice');
    const dir = mkdtempSync(join(tmpdir(), 'duo-id-'));
    try {
      const store = new SecretStore(join(dir, 'secrets.json'));
      const config = { brokerUrl: 'http://localhost:3210', partnerId: undefined, name: undefined, projectDir: dir };
      const [first, second] = candidateIds({ config, store });
      expect(second).toBe(fallbackPartnerId(first!, dir));
      // A project that fell back last time starts with its fallback id.
      store.setProjectPartner(config.brokerUrl, dir, second!);
      expect(candidateIds({ config, store })).toEqual([second, first]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
