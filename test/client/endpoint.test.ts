import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerEndpoint, webSocketUrl } from '../../src/client/endpoint.ts';
import { tempDir } from '../helpers/broker.ts';

describe('broker endpoint', () => {
  it('derives the WebSocket URL from the broker URL', () => {
    expect(webSocketUrl('http://localhost:3210')).toBe('ws://localhost:3210/ws');
    expect(webSocketUrl('https://duo.example/base/')).toBe('wss://duo.example/base/ws');
  });

  it('carries the access token on every request, and nothing without one', () => {
    expect(brokerEndpoint({ brokerUrl: 'http://localhost:3210/', token: 't0k3n' })).toMatchObject({
      url: 'http://localhost:3210',
    });
    expect(brokerEndpoint({ brokerUrl: 'http://localhost:3210', token: 't0k3n' }).headers()).toEqual({
      'x-duo-token': 't0k3n',
    });
    expect(brokerEndpoint({ brokerUrl: 'http://localhost:3210' }).headers()).toEqual({});
  });

  it('sends the owner-token file once it exists, DUO_TOKEN first, and only to a broker on this machine', () => {
    const dir = tempDir('duo-endpoint-');
    try {
      const file = join(dir, 'owner-token');
      const local = brokerEndpoint({ brokerUrl: 'http://127.0.0.1:3210', ownerTokenFile: file });
      // No file yet (the broker has not started): no header, no failure; found on a later request.
      expect(local.headers()).toEqual({});
      writeFileSync(file, 'owner-secret\n', { mode: 0o600 });
      expect(local.headers()).toEqual({ 'x-duo-token': 'owner-secret' });
      expect(brokerEndpoint({ brokerUrl: 'http://[::1]:3210', ownerTokenFile: file }).headers()).toEqual({
        'x-duo-token': 'owner-secret',
      });
      expect(
        brokerEndpoint({ brokerUrl: 'http://localhost:3210', token: 'access', ownerTokenFile: file }).headers(),
      ).toEqual({ 'x-duo-token': 'access' });
      expect(brokerEndpoint({ brokerUrl: 'https://duo.example', ownerTokenFile: file }).headers()).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
