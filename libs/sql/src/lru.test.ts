import { describe, expect, it } from 'vitest';
import { Lru } from './lru';

describe('Lru', () => {
  it('forgets the oldest entry not read since, and keeps the ones read', () => {
    const evicted: string[] = [];
    const lru = new Lru<string, string>(3, (v) => evicted.push(v));
    lru.set('a', 'A');
    lru.set('b', 'B');
    lru.set('c', 'C');
    expect(lru.get('a')).toBe('A');
    lru.set('d', 'D');
    expect(evicted).toEqual(['B']);
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c'), lru.get('d')]).toEqual(['A', 'C', 'D']);
    expect(lru.size).toBe(3);
  });

  it('stays within its bound when every entry was read, and replaces a value in place', () => {
    const evicted: number[] = [];
    const lru = new Lru<number, number>(4, (v) => evicted.push(v));
    for (let i = 0; i < 4; i++) lru.set(i, i);
    for (let i = 0; i < 4; i++) lru.get(i);
    lru.set(4, 4);
    expect(lru.size).toBe(4);
    expect(evicted).toEqual([0]);
    lru.set(4, 40);
    expect(lru.get(4)).toBe(40);
    expect(evicted).toEqual([0]);
    for (let i = 5; i < 1000; i++) lru.set(i, i);
    expect(lru.size).toBe(4);
    expect(evicted).toHaveLength(996);
    lru.clear();
    expect(lru.size).toBe(0);
  });
});
