import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/shared/bounded-map.ts';

describe('BoundedMap', () => {
  it('forgets the oldest entry once full', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('c', 3);
    expect([...map.keys()]).toEqual(['b', 'c']);
  });

  it('moves a re-set key to the newest place', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 10).set('c', 3);
    expect([...map.entries()]).toEqual([
      ['a', 10],
      ['c', 3],
    ]);
  });

  it('refuses a capacity that cannot hold anything', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});
