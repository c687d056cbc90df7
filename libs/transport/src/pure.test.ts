import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { checkFrame, type FrameRules } from './frame-check';
import { ANY_ORIGIN, judgeIncarnation, originMismatch, type PeerIdentity } from './handshake';
import { Outbox } from './outbox';
import { resolveLimits, TransportError } from './types';

const bytes = (n: number) => new Uint8Array(n);

describe('Outbox', () => {
  it('refuses past either bound and frames by bytes, oldest first', () => {
    const box = new Outbox({ messagesQueuedMax: 4, bytesQueuedMax: 100 });
    expect([box.push(bytes(40)), box.push(bytes(40)), box.push(bytes(40))]).toEqual([true, true, false]);
    expect([box.push(bytes(10)), box.push(bytes(10)), box.push(bytes(1))]).toEqual([true, true, false]);
    expect(box.takeFrame(85).map((m) => m.byteLength)).toEqual([40, 40]);
    expect(box.bytes).toBe(20);
    expect(box.takeFrame(5).map((m) => m.byteLength)).toEqual([10]); // at least one, even if larger
    expect(box.clear()).toBe(1);
    expect(box.length).toBe(0);
  });
});

describe('checkFrame', () => {
  const rules: FrameRules = { self: 'n2', cluster: 'c', protocol: 'raft', isPeer: (id) => id === 'n1' || id === 'n3', identity: () => null, frameBytesMax: 100, messagesPerFrameMax: 3 };
  const first = { from: 'n1', to: 'n2', cluster: 'c', protocol: 'raft' };

  it('accepts a good first frame and later frames without a header', () => {
    expect(checkFrame({ ...first, messages: [bytes(1)] }, null, rules)).toMatchObject({ ok: true, from: 'n1' });
    expect(checkFrame({ messages: [bytes(50), bytes(50)] }, 'n1', rules)).toMatchObject({ ok: true, from: 'n1' });
  });

  const refusals: [string, Parameters<typeof checkFrame>[0], string | null, grpc.status, string][] = [
    ['wrong cluster', { ...first, cluster: 'd' }, null, grpc.status.FAILED_PRECONDITION, "cluster 'd'"],
    ['another protocol', { ...first, protocol: 'zab' }, null, grpc.status.FAILED_PRECONDITION, "stream speaks protocol 'zab', this node runs 'raft'"],
    ['no protocol named', { from: 'n1', to: 'n2', cluster: 'c' }, null, grpc.status.FAILED_PRECONDITION, "stream speaks protocol '', this node runs 'raft'"],
    ['wrong receiver', { ...first, to: 'n3' }, null, grpc.status.FAILED_PRECONDITION, "meant for 'n3'"],
    ['unknown sender', { ...first, from: 'n7' }, null, grpc.status.PERMISSION_DENIED, "sender 'n7'"],
    ['self as sender', { ...first, from: 'n2' }, null, grpc.status.PERMISSION_DENIED, "sender 'n2'"],
    ['no header', { messages: [] }, null, grpc.status.FAILED_PRECONDITION, "cluster ''"],
    ['sender changes', { from: 'n3' }, 'n1', grpc.status.INVALID_ARGUMENT, 'sender changed'],
    ['too many bytes', { ...first, messages: [bytes(60), bytes(41)] }, null, grpc.status.RESOURCE_EXHAUSTED, 'exceeds frameBytesMax (100)'],
    ['too many messages', { ...first, messages: [bytes(1), bytes(1), bytes(1), bytes(1)] }, null, grpc.status.RESOURCE_EXHAUSTED, '4 messages'],
  ];
  it.each(refusals)('refuses %s', (_name, frame, from, code, why) => {
    const verdict = checkFrame(frame, from, rules);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.code).toBe(code);
      expect(verdict.why).toContain(why);
    }
  });

  it('escapes control characters a stranger puts in its header', () => {
    const verdict = checkFrame({ ...first, from: 'x\n\u0002' }, null, rules);
    expect(!verdict.ok && verdict.why).toContain("sender 'x\\n\\u0002'");
  });
});

describe('judgeIncarnation', () => {
  const fresh = { id: 'b', rejoined: false };
  it('records a member heard from for the first time', () => {
    expect(judgeIncarnation('n3', null, fresh)).toEqual({ kind: 'record', id: 'b' });
  });
  it('accepts the incarnation it recorded', () => {
    expect(judgeIncarnation('n3', 'b', fresh)).toEqual({ kind: 'accept' });
  });
  it('refuses a member that came back with another data directory, naming --rejoin', () => {
    const verdict = judgeIncarnation('n3', 'a', fresh);
    expect(verdict.kind).toBe('refuse');
    expect(verdict.kind === 'refuse' && verdict.why).toBe(
      "member 'n3' came back with a different data directory (incarnation 'b', expected 'a'): it lost its state; empty its data directory and restart it with --rejoin",
    );
  });
  it('records the new incarnation of a member that rejoins', () => {
    expect(judgeIncarnation('n3', 'a', { id: 'c', rejoined: true })).toEqual({ kind: 'record', id: 'c' });
  });
  it('accepts, unrecorded, a sender that names no incarnation (it predates them)', () => {
    expect(judgeIncarnation('n3', 'a', null)).toEqual({ kind: 'accept' });
  });
});

describe('checkFrame with an identity', () => {
  const seen = new Map<string, string>();
  const identity: PeerIdentity = {
    self: { id: 'self', rejoined: false },
    admit: (member, presented) => {
      const verdict = judgeIncarnation(member, seen.get(member) ?? null, presented);
      if (verdict.kind === 'record') seen.set(member, verdict.id);
      return verdict.kind === 'refuse' ? verdict.why : null;
    },
  };
  const rules: FrameRules = { self: 'n2', cluster: 'c', protocol: 'raft', isPeer: (id) => id === 'n1', identity: () => identity, frameBytesMax: 100, messagesPerFrameMax: 3 };
  const first = { from: 'n1', to: 'n2', cluster: 'c', protocol: 'raft', messages: [bytes(1)] };

  it('admits the first incarnation, then refuses another one as stale (the sender must stop)', () => {
    expect(checkFrame({ ...first, incarnation: 'a' }, null, rules)).toMatchObject({ ok: true });
    expect(seen.get('n1')).toBe('a');
    const verdict = checkFrame({ ...first, incarnation: 'b' }, null, rules);
    expect(verdict).toMatchObject({ ok: false, code: grpc.status.FAILED_PRECONDITION, staleIncarnation: true });
    expect(checkFrame({ ...first, incarnation: 'b', rejoined: true }, null, rules)).toMatchObject({ ok: true });
    expect(seen.get('n1')).toBe('b');
  });

  it('does not record a stream it refuses for another reason', () => {
    expect(checkFrame({ ...first, from: 'n1', to: 'n9', incarnation: 'z' }, null, rules).ok).toBe(false);
    expect(seen.get('n1')).toBe('b');
  });
});

describe('where a database began (origin)', () => {
  const backup = `sha256:${'ab'.repeat(32)}`;
  const other = `sha256:${'cd'.repeat(32)}`;

  it('matches the same origin, and a witness matches any; says which began where otherwise', () => {
    for (const [theirs, ours] of [['', ''], [backup, backup], [ANY_ORIGIN, backup], ['', ANY_ORIGIN]] as const) expect(originMismatch(theirs, ours)).toBeNull();
    expect(originMismatch('', backup)).toBe(
      "stream comes from a node whose database began empty, and this node's began from the backup with SHA-256 abababababababab…: every data node of a cluster restored from a backup, and every node added to it later, starts with --from-backup of that same file",
    );
    expect(originMismatch(other, backup)).toMatch(/began from the backup with SHA-256 cdcdcdcdcdcdcdcd…, and this node's began from the backup with SHA-256 abab/);
    expect(originMismatch('x\n', '')).toMatch(/began from 'x\\n', and this node's began empty/);
  });

  it('refuses the first frame of a node whose database began elsewhere, before it records its incarnation', () => {
    const recorded: string[] = [];
    const identity: PeerIdentity = { self: { id: 'self', rejoined: false }, origin: backup, admit: (member) => (recorded.push(member), null) };
    const rules: FrameRules = { self: 'n2', cluster: 'c', protocol: 'raft', isPeer: () => true, identity: () => identity, frameBytesMax: 100, messagesPerFrameMax: 3 };
    const frame = { from: 'n1', to: 'n2', cluster: 'c', protocol: 'raft', incarnation: 'a', messages: [bytes(1)] };
    expect(checkFrame(frame, null, rules)).toMatchObject({ ok: false, code: grpc.status.FAILED_PRECONDITION, why: expect.stringMatching(/^stream comes from a node whose database began empty/) });
    expect(recorded).toEqual([]);
    expect(checkFrame({ ...frame, origin: backup }, null, rules)).toMatchObject({ ok: true });
    expect(checkFrame({ ...frame, origin: ANY_ORIGIN }, null, rules)).toMatchObject({ ok: true });
    expect(recorded).toEqual(['n1', 'n1']);
  });
});

describe('resolveLimits', () => {
  it('fills defaults and rejects impossible limits', () => {
    expect(resolveLimits({ messagesQueuedMax: 7 }).messagesQueuedMax).toBe(7);
    expect(() => resolveLimits({ frameBytesMax: 0 })).toThrow(TransportError);
    expect(() => resolveLimits({ reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 5 })).toThrow(/reconnectBackoffMsMin/);
    expect(() => resolveLimits({ frameBytesMax: 1024, snapshotChunkBytes: 2048 })).toThrow(/snapshotChunkBytes/);
  });
});
