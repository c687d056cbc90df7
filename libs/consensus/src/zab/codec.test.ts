/** The Zab wire format: every message type survives a round trip; garbage only ever raises ConsensusError. */
import { describe, expect, it } from 'vitest';
import { ConsensusError, encodeConfig, logIndex, nodeId, seededRandom, term } from '../index';
import { ZAB_CODEC_VERSION, decodeMessage, encodeMessage } from './codec';
import { ZAB_MESSAGE_TYPES, type ZabMessage } from './messages';

const from = nodeId('n1');
const to = nodeId('node-2 ✓');
const e = term(7);
const vote = { leader: nodeId('n3'), epoch: term(6), zxidEpoch: term(5), zxidIndex: logIndex(2 ** 40) };
const entries = [
  { index: logIndex(42), term: term(6), kind: 'command' as const, data: new Uint8Array([1, 2, 3]) },
  { index: logIndex(43), term: e, kind: 'noop' as const, data: new Uint8Array(0) },
];

const samples: ZabMessage[] = [
  { type: 'notification', from, to, round: 12, state: 'looking', vote },
  { type: 'notification', from, to, round: 0, state: 'observing', vote },
  { type: 'followerInfo', from, to, epoch: e, acceptedEpoch: term(8), observer: true, incarnation: 2 ** 47, attempt: 3 },
  { type: 'leaderInfo', from, to, epoch: e, attempt: 4 },
  { type: 'ackEpoch', from, to, epoch: e, attempt: 1, fresh: true, currentEpoch: term(6), lastEpoch: term(6), lastIndex: logIndex(41) },
  { type: 'sync', from, to, epoch: e, attempt: 2, syncId: 4, mode: 'trunc', index: logIndex(40), indexEpoch: term(5) },
  {
    type: 'sync', from, to, epoch: e, attempt: 3, syncId: 5, mode: 'snap', index: logIndex(1000), indexEpoch: term(5),
    snapshot: { index: logIndex(1000), term: term(5), members: [{ id: nodeId('n1'), role: 'voter' }, { id: nodeId('o1'), role: 'observer' }] },
  },
  { type: 'proposal', from, to, epoch: e, syncId: 4, entries, commit: logIndex(41) },
  { type: 'proposal', from, to, epoch: e, syncId: 4, entries: [], commit: logIndex(0) },
  { type: 'inform', from, to, epoch: e, syncId: 9, entries, commit: logIndex(43) },
  { type: 'newLeader', from, to, epoch: e, syncId: 4, lastIndex: logIndex(43) },
  { type: 'ack', from, to, epoch: e, syncId: 4, index: logIndex(43), newLeader: true },
  { type: 'upToDate', from, to, epoch: e, commit: logIndex(43) },
  { type: 'commit', from, to, epoch: e, index: logIndex(43) },
  { type: 'ping', from, to, epoch: e, syncId: 4, lastIndex: logIndex(43), commit: logIndex(40), upToDate: true, readSeq: 77, dataHold: logIndex(38) },
  { type: 'pingAck', from, to, epoch: e, syncId: 4, index: logIndex(43), readSeq: Number.MAX_SAFE_INTEGER },
  { type: 'staleEpoch', from, to, epoch: term(9), currentEpoch: term(8) },
  { type: 'handOver', from, to, epoch: e, vote: { ...vote, epoch: e } },
  { type: 'commitPoint', from, to, index: logIndex(43), indexEpoch: term(6) },
  { type: 'seenConfig', from, to, index: logIndex(44), indexEpoch: term(7), config: encodeConfig([{ id: nodeId('n1'), role: 'voter', address: 'n1:7000' }]) },
  { type: 'readIndex', from, to, epoch: e, requestId: 'req-1' },
  { type: 'readIndexResponse', from, to, epoch: e, requestId: '', index: logIndex(88), reject: false },
];

const handOverSample = samples.find((m) => m.type === 'handOver')!;

const plain = (m: ZabMessage): unknown =>
  m.type === 'proposal' || m.type === 'inform' ? { ...m, entries: m.entries.map((x) => ({ ...x, data: Array.from(x.data) })) } : m;

describe('zab codec', () => {
  it('covers every message type', () => {
    expect(new Set(samples.map((m) => m.type))).toEqual(new Set(ZAB_MESSAGE_TYPES));
  });

  it.each(samples.map((m, i) => [`${i}:${m.type}`, m] as const))('round-trips %s', (_name, m) => {
    const bytes = encodeMessage(m);
    // Types 1–16 keep version 2's layout and number, which nodes of earlier releases read;
    // HANDOVER goes out in version 3, COMMITPOINT and SEENCONFIG in 4, the versions that brought them.
    expect(bytes[0]).toBe(m.type === 'handOver' ? 3 : m.type === 'commitPoint' || m.type === 'seenConfig' ? ZAB_CODEC_VERSION : 2);
    expect(plain(decodeMessage(bytes))).toEqual(plain(m));
  });

  it('names what is wrong with a message it cannot read', () => {
    expect(() => decodeMessage(new Uint8Array([9]))).toThrow(/zab message: unsupported version 9/);
    expect(() => decodeMessage(new Uint8Array([ZAB_CODEC_VERSION, 200]))).toThrow(/unknown type 200/);
    const ok = encodeMessage(samples[0]!);
    expect(() => decodeMessage(new Uint8Array([...ok, 0]))).toThrow(/1 trailing bytes after a notification/);
    expect(() => decodeMessage(ok.subarray(0, ok.length - 1))).toThrow(/truncated/);
  });

  it('reads a version 2 frame, and refuses a version it does not know, a handOver outside version 3 or a commitPoint outside 4', () => {
    const m = samples[0]!;
    const v2 = encodeMessage(m);
    expect(v2[0]).toBe(2);
    expect(plain(decodeMessage(v2))).toEqual(plain(m));
    const asV4 = v2.slice();
    asV4[0] = ZAB_CODEC_VERSION;
    expect(plain(decodeMessage(asV4))).toEqual(plain(m));
    for (const version of [0, 1, 5]) {
      const other = v2.slice();
      other[0] = version;
      expect(() => decodeMessage(other)).toThrow(new RegExp(`zab message: unsupported version ${version}`));
    }
    const handOver = encodeMessage(handOverSample);
    expect(handOver[0]).toBe(3);
    const handOverV2 = handOver.slice();
    handOverV2[0] = 2;
    expect(() => decodeMessage(handOverV2)).toThrow(/a handOver in version 2, which has no such message/);
    const commitPoint = encodeMessage(samples.find((x) => x.type === 'commitPoint')!);
    const commitPointV3 = commitPoint.slice();
    commitPointV3[0] = 3;
    expect(() => decodeMessage(commitPointV3)).toThrow(/a commitPoint in version 3, which has no such message/);
    const atZero = encodeMessage({ type: 'commitPoint', from, to, index: logIndex(0), indexEpoch: term(1) });
    expect(() => decodeMessage(atZero)).toThrow(/commitPoint names index 0/);
    const badConfig = encodeMessage({ type: 'seenConfig', from, to, index: logIndex(4), indexEpoch: term(1), config: new Uint8Array([9]) });
    expect(() => decodeMessage(badConfig)).toThrow(/version 9 is not 1/);
  });

  it('refuses a handOver that is truncated, or whose vote is not of its epoch or names a later zxid epoch', () => {
    const ok = encodeMessage(handOverSample);
    expect(() => decodeMessage(ok.subarray(0, ok.length - 1))).toThrow(/truncated/);
    const otherEpoch: ZabMessage = { ...handOverSample, vote: { ...vote, epoch: term(8) } };
    expect(() => decodeMessage(encodeMessage(otherEpoch))).toThrow(/handOver of epoch 7 names a vote of epoch 8/);
    const laterZxid: ZabMessage = { ...handOverSample, vote: { ...vote, epoch: e, zxidEpoch: term(8) } };
    expect(() => decodeMessage(encodeMessage(laterZxid))).toThrow(/handOver names a zxid of epoch 8, after its vote's epoch 7/);
  });

  it('raises only ConsensusError on random and mutated bytes', () => {
    const rnd = seededRandom(99);
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
