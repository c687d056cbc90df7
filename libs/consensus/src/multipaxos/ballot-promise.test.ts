/** One ballot, one proposer: an acceptor promises a given ballot at most once, across a restart too (config.ts, ballots). */
import { expect, it } from 'vitest';
import { logIndex, term } from '../contract';
import type { PaxosMessage } from './messages';
import { PaxosNet, voters } from './testkit';

it('an acceptor refuses a Prepare of its promised ballot from another proposer, and from anyone after a restart', () => {
  const net = new PaxosNet(voters('n1', 'n2', 'n3'), {}, {}, { configWindowSlots: 4 });
  for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tick('n1');
  net.settle();
  expect(net.leaderOf()).toBe('n1');
  net.propose('n1', 'a');
  net.stabilize();
  const b = net.core('n2').status().term;
  const prepare = (from: string): PaxosMessage => ({ type: 'prepare', from, to: 'n2', ballot: term(b), fromSlot: logIndex(1), designatedAt: term(0) }) as PaxosMessage;
  const promisesTo = (id: string) => net.sent.filter((m) => m.type === 'promise' && m.to === id && m.from === 'n2');
  net.sent.length = 0;
  net.core('n2').step(prepare('n3'));
  net.processAll();
  expect(promisesTo('n3').every((m) => (m as { reject: boolean }).reject)).toBe(true);
  net.crash('n2');
  net.restart('n2');
  net.sent.length = 0;
  net.core('n2').step(prepare('n3'));
  net.processAll();
  expect(promisesTo('n3').length).toBeGreaterThan(0);
  expect(promisesTo('n3').every((m) => (m as { reject: boolean }).reject)).toBe(true);
});
