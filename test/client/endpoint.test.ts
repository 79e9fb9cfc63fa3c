import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  brokerEndpoint,
  checkPlainHttp,
  isLoopbackUrl,
  splitBrokerUrls,
  webSocketUrl,
} from '../../src/client/endpoint.ts';
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
      // A name under .localhost is whatever DNS or /etc/hosts says it is: not this machine for sure.
      for (const brokerUrl of ['http://evil.localhost:3210', 'http://localhost.evil.example:3210'])
        expect(brokerEndpoint({ brokerUrl, ownerTokenFile: file }).headers()).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a list of brokers', () => {
  it('holds the list in order, starts with the first, and moves on after a failure of the current one', () => {
    const endpoint = brokerEndpoint({ brokerUrl: 'https://a.example:3210/, https://b.example:3210' });
    expect(endpoint.urls).toEqual(['https://a.example:3210', 'https://b.example:3210']);
    expect(endpoint.url).toBe('https://a.example:3210');
    // The first failure of a round: try the next one at once.
    expect(endpoint.failed('https://a.example:3210')).toBe(false);
    expect(endpoint.url).toBe('https://b.example:3210');
    // A late report about a broker already left behind moves nothing.
    expect(endpoint.failed('https://a.example:3210')).toBe(false);
    expect(endpoint.url).toBe('https://b.example:3210');
    // Every broker failed in turn: the round is over (time to back off), and it wraps around.
    expect(endpoint.failed('https://b.example:3210')).toBe(true);
    expect(endpoint.url).toBe('https://a.example:3210');
    // A success starts a new round.
    expect(endpoint.failed('https://a.example:3210')).toBe(false);
    endpoint.succeeded('https://b.example:3210');
    expect(endpoint.failed('https://b.example:3210')).toBe(false);
    expect(endpoint.url).toBe('https://a.example:3210');
  });

  it('with one broker, every failure is a whole round, as before lists existed', () => {
    const endpoint = brokerEndpoint({ brokerUrl: 'http://localhost:3210' });
    expect(endpoint.urls).toEqual(['http://localhost:3210']);
    expect(endpoint.failed('http://localhost:3210')).toBe(true);
    expect(endpoint.failed('http://localhost:3210')).toBe(true);
    expect(endpoint.url).toBe('http://localhost:3210');
  });

  it('sends DUO_TOKEN to every broker of the list, the owner-token file only to the ones on this machine', () => {
    const dir = tempDir('duo-endpoint-');
    try {
      const file = join(dir, 'owner-token');
      writeFileSync(file, 'owner-secret\n', { mode: 0o600 });
      const team = brokerEndpoint({ brokerUrl: 'https://a.example,https://b.example', token: 'team-token' });
      expect(team.headers('https://a.example')).toEqual({ 'x-duo-token': 'team-token' });
      expect(team.headers('https://b.example')).toEqual({ 'x-duo-token': 'team-token' });
      const mixed = brokerEndpoint({ brokerUrl: 'https://duo.example,http://127.0.0.1:3210', ownerTokenFile: file });
      expect(mixed.headers()).toEqual({});
      expect(mixed.headers('https://duo.example')).toEqual({});
      expect(mixed.headers('http://127.0.0.1:3210')).toEqual({ 'x-duo-token': 'owner-secret' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits a BROKER_URL list, trimming entries and trailing slashes', () => {
    expect(splitBrokerUrls(' https://a:1/ ,, https://b:2//')).toEqual(['https://a:1', 'https://b:2']);
    expect(splitBrokerUrls('http://localhost:3210')).toEqual(['http://localhost:3210']);
  });

  it('refuses plain http to a broker on another machine unless allowed, and says how to fix it', () => {
    expect(() => checkPlainHttp(['http://localhost:3210', 'https://duo.example'], false)).not.toThrow();
    expect(() => checkPlainHttp(['https://duo.example', 'http://10.255.255.1:3210'], false)).toThrow(
      /plain http to http:\/\/10\.255\.255\.1:3210.*Use https:\/\/10\.255\.255\.1:3210.*DUO_ALLOW_PLAIN_HTTP=1/,
    );
    expect(() => checkPlainHttp(['http://10.255.255.1:3210'], true)).not.toThrow();
    // A .localhost name may resolve to another machine: its plain http is refused too.
    expect(() => checkPlainHttp(['http://duo.localhost:3210'], false)).toThrow(/plain http/);
  });

  it('takes only literal loopback addresses and localhost for this machine', () => {
    for (const url of [
      'http://localhost:1',
      'http://LOCALHOST:1',
      'http://127.0.0.1:1',
      'http://127.9.8.7',
      'http://[::1]:1',
    ])
      expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of [
      'http://evil.localhost:1',
      'http://a.b.localhost',
      'http://127.0.0.1.nip.io',
      'http://[::2]',
      'nonsense',
    ])
      expect(isLoopbackUrl(url), url).toBe(false);
  });
});
