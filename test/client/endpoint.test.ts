import { describe, expect, it } from 'vitest';
import { brokerEndpoint, webSocketUrl } from '../../src/client/endpoint.ts';

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
});
