/** The Multi-Paxos wire format: every message type survives a round trip; garbage only ever raises ConsensusError. */
import { describe, expect, it } from 'vitest';
import { ConsensusError, logIndex, nodeId, seededRandom, term, type Entry } from '../index';
import { WireWriter } from '../common/wire';
import { PAXOS_CODEC_VERSION, PAXOS_CODEC_VERSION_V2, PAXOS_CODEC_VERSION_V3, PAXOS_CODEC_VERSION_V4, decodeMessage, encodeMessage } from './codec';
import { PAXOS_MESSAGE_TYPES, type PaxosMessage } from './messages';

const from = nodeId('n1');
const to = nodeId('node-2 ✓');
const ballot = term(3 * 1024 + 2);
const slot = (index: number, b: number, data: number[]): Entry => ({ index: logIndex(index), term: term(b), kind: 'command', data: new Uint8Array(data) });

const samples: PaxosMessage[] = [
  { type: 'prePrepare', from, to, ballot, fromSlot: logIndex(41) },
  { type: 'prePromise', from, to, ballot, reject: false },
  { type: 'prePromise', from, to, ballot: term(0), reject: true },
  { type: 'prepare', from, to, ballot, fromSlot: logIndex(41), designatedAt: term(0) },
  { type: 'prepare', from, to, ballot, fromSlot: logIndex(41), designatedAt: term(2 * 1024 + 1) },
  // Accepted slots may have holes between them: 42 and 45.
  { type: 'promise', from, to, ballot, reject: false, chosen: logIndex(40), firstSlot: logIndex(1), accepted: [slot(42, 1025, [1, 2]), slot(45, 2050, [3])] },
  { type: 'promise', from, to, ballot, reject: true, chosen: logIndex(0), firstSlot: logIndex(7), accepted: [] },
  {
    type: 'accept', from, to, ballot, chosen: logIndex(41),
    entries: [slot(42, ballot, [9]), { index: logIndex(43), term: ballot, kind: 'noop', data: new Uint8Array(0) }],
  },
  { type: 'accept', from, to, ballot, chosen: logIndex(41), entries: [] },
  { type: 'accepted', from, to, ballot, reject: false, fromSlot: logIndex(42), toSlot: logIndex(43), prefix: logIndex(43) },
  { type: 'heartbeat', from, to, ballot, chosen: logIndex(43), readSeq: 12, dataHold: logIndex(40), holders: [] },
  { type: 'heartbeat', from, to, ballot, chosen: logIndex(43), readSeq: 12, dataHold: logIndex(40), holders: [nodeId('n1'), nodeId('n2')] },
  { type: 'heartbeatResponse', from, to, ballot, readSeq: Number.MAX_SAFE_INTEGER, prefix: logIndex(2 ** 40) },
  { type: 'snapshot', from, to, ballot, snapshot: { index: logIndex(1000), term: ballot, members: [{ id: nodeId('n1'), role: 'voter' }, { id: nodeId('o1'), role: 'observer' }] }, holders: [] },
  { type: 'snapshot', from, to, ballot, snapshot: { index: logIndex(1000), term: ballot, members: [{ id: nodeId('n1'), role: 'voter' }] }, holders: [nodeId('n1')] },
  { type: 'readIndex', from, to, ballot, requestId: 'req-1' },
  { type: 'readIndexResponse', from, to, ballot, requestId: '', index: logIndex(88), reject: false },
  { type: 'takeOver', from, to, ballot, chosen: logIndex(43) },
  { type: 'learn', from, to, ballot, fromSlot: logIndex(42) },
  { type: 'learn', from, to, ballot: term(0), fromSlot: logIndex(1) },
  { type: 'teach', from, to, ballot, chosen: logIndex(50), entries: [slot(42, 1025, [7]), { index: logIndex(43), term: ballot, kind: 'noop', data: new Uint8Array(0) }] },
];

/** What a proposer (a leader or a candidate) sends, always at a ballot it chose. */
const PROPOSER_TYPES: readonly PaxosMessage['type'][] = ['prePrepare', 'prepare', 'accept', 'heartbeat', 'snapshot', 'takeOver'];

const plainEntries = (es: readonly Entry[]): unknown => es.map((e) => ({ ...e, data: Array.from(e.data) }));
const plain = (m: PaxosMessage): unknown =>
  m.type === 'accept' || m.type === 'teach' ? { ...m, entries: plainEntries(m.entries) } : m.type === 'promise' ? { ...m, accepted: plainEntries(m.accepted) } : m;

/** A message's header as a node of `version` writes it, from `from` to `to` at `ballot`. */
function header(version: number, typeCode: number): WireWriter {
  const w = new WireWriter('multipaxos');
  w.u8(version);
  w.u8(typeCode);
  w.str(from);
  w.str(to);
  w.uint(ballot, 'ballot');
  return w;
}

describe('multipaxos codec', () => {
  it('covers every message type', () => {
    expect(new Set(samples.map((m) => m.type))).toEqual(new Set(PAXOS_MESSAGE_TYPES));
  });

  it.each(samples.map((m, i) => [`${i}:${m.type}`, m] as const))('round-trips %s', (_name, m) => {
    const bytes = encodeMessage(m);
    expect(plain(decodeMessage(bytes))).toEqual(plain(m));
  });

  it('writes a newer version only for what an older node cannot read: takeOver and a designated prepare (3), holders (4), learn and teach (5)', () => {
    const v3 = (m: PaxosMessage): boolean => m.type === 'takeOver' || (m.type === 'prepare' && m.designatedAt !== 0);
    const v4 = (m: PaxosMessage): boolean => (m.type === 'heartbeat' || m.type === 'snapshot') && m.holders.length > 0;
    const v5 = (m: PaxosMessage): boolean => m.type === 'learn' || m.type === 'teach';
    const version = (m: PaxosMessage): number => (v5(m) ? PAXOS_CODEC_VERSION : v4(m) ? PAXOS_CODEC_VERSION_V4 : v3(m) ? PAXOS_CODEC_VERSION_V3 : PAXOS_CODEC_VERSION_V2);
    for (const m of samples) expect([m.type, encodeMessage(m)[0]]).toEqual([m.type, version(m)]);
  });

  it('refuses learn and teach below version 5, a teach of no slot, of a slot beyond its chosen watermark, or of a hole', () => {
    const learn = header(PAXOS_CODEC_VERSION_V4, 13);
    learn.uint(7, 'fromSlot');
    expect(() => decodeMessage(learn.finish())).toThrow(/multipaxos message: learn needs version 5, got 4/);
    const teachV4 = encodeMessage({ type: 'teach', from, to, ballot, chosen: logIndex(42), entries: [slot(42, 3, [1])] });
    teachV4[0] = PAXOS_CODEC_VERSION_V4;
    expect(() => decodeMessage(teachV4)).toThrow(/multipaxos message: teach needs version 5, got 4/);
    const fromZero = header(PAXOS_CODEC_VERSION, 14);
    fromZero.uint(5, 'chosen');
    fromZero.uint(0, 'first slot');
    fromZero.entries(0, [slot(0, 3, [1])]);
    expect(() => decodeMessage(fromZero.finish())).toThrow(/multipaxos message: teach slots start at slot 0/);
    const slot0 = header(PAXOS_CODEC_VERSION, 13);
    slot0.uint(0, 'fromSlot');
    expect(() => decodeMessage(slot0.finish())).toThrow(/multipaxos message: learn fromSlot 0/);
    const teach = (chosen: number, entries: Entry[]): Uint8Array => encodeMessage({ type: 'teach', from, to, ballot, chosen: logIndex(chosen), entries });
    expect(() => decodeMessage(teach(5, []))).toThrow(/multipaxos message: teach carries no slot/);
    expect(() => decodeMessage(teach(42, [slot(42, 3, [1]), slot(43, 3, [2])]))).toThrow(/multipaxos message: teach slot 43 is beyond its chosen 42/);
    expect(() => decodeMessage(teach(43, [slot(42, 3, [1]), slot(43, 0, [])]))).toThrow(/multipaxos message: teach slot 43 has ballot 0 \(a hole\)/);
  });

  it('reads what a version-2 node writes: an undesignated prepare, and every other message but takeOver and holders', () => {
    // A version-2 prepare, written as a version-2 node does: no designatedAt field at all.
    const prepare = header(PAXOS_CODEC_VERSION_V2, 1);
    prepare.uint(41, 'fromSlot');
    expect(decodeMessage(prepare.finish())).toEqual({ type: 'prepare', from, to, ballot, fromSlot: 41, designatedAt: 0 });
    for (const m of samples.filter((s) => s.type !== 'prepare' && s.type !== 'takeOver' && s.type !== 'learn' && s.type !== 'teach' && !((s.type === 'heartbeat' || s.type === 'snapshot') && s.holders.length > 0))) {
      const bytes = encodeMessage(m);
      expect(bytes[0]).toBe(PAXOS_CODEC_VERSION_V2);
      expect(plain(decodeMessage(bytes))).toEqual(plain(m));
    }
    const takeOver = header(PAXOS_CODEC_VERSION_V2, 12);
    takeOver.uint(7, 'chosen');
    expect(() => decodeMessage(takeOver.finish())).toThrow(/multipaxos message: takeOver needs version 3, got 2/);
  });

  it('refuses a version-3 prepare cut short before designatedAt, and a version-4 heartbeat cut short in its holders', () => {
    const prepare = header(PAXOS_CODEC_VERSION_V3, 1);
    prepare.uint(41, 'fromSlot');
    expect(() => decodeMessage(prepare.finish())).toThrow(/multipaxos message: .*truncated before designatedAt/);
    const heartbeat = header(PAXOS_CODEC_VERSION_V4, 5);
    heartbeat.uint(43, 'chosen');
    heartbeat.uint(1, 'readSeq');
    heartbeat.uint(40, 'dataHold');
    expect(() => decodeMessage(heartbeat.finish())).toThrow(/multipaxos message: .*truncated before holder count/);
    heartbeat.uint(1, 'holder count');
    heartbeat.str('');
    expect(() => decodeMessage(heartbeat.finish())).toThrow(/multipaxos message: holder is empty/);
  });

  it('names what is wrong with a message it cannot read', () => {
    expect(() => decodeMessage(new Uint8Array([9]))).toThrow(/multipaxos message: unsupported version 9: this node reads versions 2 to 5/);
    expect(() => decodeMessage(new Uint8Array([1]))).toThrow(/unsupported version 1/);
    expect(() => decodeMessage(new Uint8Array([PAXOS_CODEC_VERSION, 200]))).toThrow(/unknown type 200/);
    const ok = encodeMessage(samples[0]!);
    expect(() => decodeMessage(new Uint8Array([...ok, 0]))).toThrow(/1 trailing bytes after a prePrepare/);
    expect(() => decodeMessage(ok.subarray(0, ok.length - 1))).toThrow(/truncated/);
  });

  it('refuses promised slots out of order', () => {
    const bad = encodeMessage({ type: 'promise', from, to, ballot, reject: false, chosen: logIndex(0), firstSlot: logIndex(1), accepted: [slot(45, 1, [1]), slot(42, 1, [2])] });
    expect(() => decodeMessage(bad)).toThrow(/accepted slot 42 does not follow slot 45/);
  });

  it('refuses a heartbeat whose dataHold is beyond its chosen watermark, naming the field', () => {
    const bad = encodeMessage({ type: 'heartbeat', from, to, ballot, chosen: logIndex(43), readSeq: 1, dataHold: logIndex(44), holders: [] });
    expect(() => decodeMessage(bad)).toThrow(/multipaxos message: heartbeat dataHold 44 is beyond its chosen 43/);
    const truncated = encodeMessage({ type: 'heartbeat', from, to, ballot, chosen: logIndex(43), readSeq: 1, dataHold: logIndex(0), holders: [] });
    expect(() => decodeMessage(truncated.subarray(0, truncated.length - 1))).toThrow(/truncated before dataHold/);
  });

  it('refuses a prepare designated by a ballot not below its own, encoding or decoding: a transfer goes to a higher ballot', () => {
    expect(() => encodeMessage({ type: 'prepare', from, to, ballot, fromSlot: logIndex(1), designatedAt: ballot })).toThrow(
      new RegExp(`multipaxos encode: prepare designatedAt ${ballot} is not below its ballot ${ballot}`),
    );
    const bad = header(PAXOS_CODEC_VERSION, 1);
    bad.uint(1, 'fromSlot');
    bad.uint(ballot, 'designatedAt');
    expect(() => decodeMessage(bad.finish())).toThrow(new RegExp(`multipaxos message: prepare designatedAt ${ballot} is not below its ballot ${ballot}`));
  });

  it.each(samples.filter((m) => PROPOSER_TYPES.includes(m.type)).map((m) => [m.type, m] as const))(
    'refuses ballot 0 in %s messages, which only a proposer sends (its ballots start at round 1), naming the field',
    (type, m) => {
      const zero = m.type === 'prepare' ? { ...m, ballot: term(0), designatedAt: term(0) } : { ...m, ballot: term(0) };
      expect(() => decodeMessage(encodeMessage(zero))).toThrow(new RegExp(`multipaxos message: ${type} ballot 0`));
    },
  );

  it('takes ballot 0 on an acceptor’s answer: it may have promised nothing yet', () => {
    for (const m of samples.filter((s) => !PROPOSER_TYPES.includes(s.type))) {
      expect(decodeMessage(encodeMessage({ ...m, ballot: term(0) })).ballot).toBe(0);
    }
  });

  it('raises only ConsensusError on random and mutated bytes', () => {
    const rnd = seededRandom(7);
    const encoded = samples.map(encodeMessage);
    for (let i = 0; i < 3000; i++) {
      const base = encoded[i % encoded.length]!;
      const bytes = i % 2 === 0 ? base.slice() : new Uint8Array(Math.floor(rnd() * 64)).map(() => Math.floor(rnd() * 256));
      if (i % 2 === 0) for (let k = 0; k < 3; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      try {
        decodeMessage(bytes);
      } catch (err: unknown) {
        expect(err).toBeInstanceOf(ConsensusError);
      }
    }
  });
});
