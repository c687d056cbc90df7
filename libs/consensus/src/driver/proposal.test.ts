import { describe, expect, it } from 'vitest';
import { logIndex, proposalToken, term, type Entry } from '../contract';
import { isProposal } from './proposal';

const command = (t: number, bytes: number[]): Entry => ({ index: logIndex(5), term: term(t), kind: 'command', data: new Uint8Array(bytes) });

describe('isProposal', () => {
  it('recognises the proposed command committed under a later fencing number (a Paxos re-proposal)', () => {
    const token = proposalToken(new Uint8Array([1, 2, 3]));
    expect(isProposal(command(9, [1, 2, 3]), token)).toBe(true);
  });

  it('recognises the very array the core was given without comparing bytes', () => {
    const data = new Uint8Array([7]);
    expect(isProposal({ index: logIndex(1), term: term(1), kind: 'command', data }, proposalToken(data))).toBe(true);
  });

  it("refuses another leader's record at the index, even under the proposal's own fencing number", () => {
    const token = proposalToken(new Uint8Array([1, 2, 3]));
    expect(isProposal(command(2, [1, 2, 4]), token)).toBe(false);
    expect(isProposal(command(2, [1, 2]), token)).toBe(false);
    expect(isProposal({ index: logIndex(5), term: term(2), kind: 'noop', data: new Uint8Array() }, proposalToken(new Uint8Array()))).toBe(false);
    // A member list is its proposer's too.
    expect(isProposal({ index: logIndex(5), term: term(2), kind: 'config', data: Uint8Array.of(1, 2) }, proposalToken(Uint8Array.of(1, 2)))).toBe(true);
  });
});
