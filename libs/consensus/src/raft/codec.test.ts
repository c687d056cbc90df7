/** The wire format: every message type survives a round trip; garbage only ever raises ConsensusError. */
import { describe, expect, it } from 'vitest';
import { ConsensusError, logIndex, nodeId, seededRandom, term } from '../index';
import { RAFT_CODEC_VERSION, RAFT_RESIGN_VERSION, decodeMessage, encodeMessage } from './codec';
import { RAFT_MESSAGE_TYPES, type RaftMessage } from './messages';
import { raft } from './index';

const from = nodeId('n1');
const to = nodeId('node-2 ✓');
const t = term(7);

const samples: RaftMessage[] = [
  {
    type: 'append', from, to, term: t, prevIndex: logIndex(41), prevTerm: term(6), commit: logIndex(40),
    entries: [
      { index: logIndex(42), term: term(6), kind: 'command', data: new Uint8Array([1, 2, 3]) },
      { index: logIndex(43), term: t, kind: 'noop', data: new Uint8Array(0) },
      { index: logIndex(44), term: t, kind: 'command', data: new Uint8Array(300).fill(9) },
    ],
  },
  { type: 'append', from, to, term: t, prevIndex: logIndex(0), prevTerm: term(0), commit: logIndex(0), entries: [] },
  { type: 'appendResponse', from, to, term: t, index: logIndex(2 ** 40), reject: true, hintIndex: logIndex(17), hintTerm: term(3), lost: true },
  { type: 'heartbeat', from, to, term: t, commit: logIndex(12), readSeq: 99, dataHold: logIndex(10) },
  { type: 'heartbeatResponse', from, to, term: t, readSeq: Number.MAX_SAFE_INTEGER },
  { type: 'vote', from, to, term: t, lastIndex: logIndex(5), lastTerm: term(4), transfer: true },
  { type: 'preVote', from, to, term: t, lastIndex: logIndex(5), lastTerm: term(4), transfer: false },
  { type: 'voteResponse', from, to, term: t, reject: false },
  { type: 'preVoteResponse', from, to, term: t, reject: true },
  { type: 'timeoutNow', from, to, term: t },
  { type: 'readIndex', from, to, term: t, requestId: 'req-1' },
  { type: 'readIndexResponse', from, to, term: t, requestId: '', index: logIndex(88), reject: false },
  {
    type: 'snapshot', from, to, term: t,
    snapshot: { index: logIndex(1000), term: term(5), members: [{ id: nodeId('n1'), role: 'voter' }, { id: nodeId('n4'), role: 'observer' }] },
  },
  { type: 'resign', from, to, term: t },
];

/** toEqual ignores the Uint8Array's backing buffer; compare data as plain arrays for clarity. */
const plain = (m: RaftMessage): unknown =>
  m.type === 'append' ? { ...m, entries: m.entries.map((e) => ({ ...e, data: Array.from(e.data) })) } : m;

function expectBadMessage(bytes: Uint8Array, pattern?: RegExp): void {
  try {
    decodeMessage(bytes);
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(ConsensusError);
    if (e instanceof ConsensusError) {
      expect(e.code).toBe('bad_message');
      expect(e.message).toMatch(/^raft message: /);
      if (pattern) expect(e.message).toMatch(pattern);
    }
    return;
  }
  throw new Error('decode accepted corrupt bytes');
}

describe('raft codec', () => {
  it('has a sample of every message type', () => {
    expect(new Set(samples.map((m) => m.type))).toEqual(new Set(RAFT_MESSAGE_TYPES));
  });

  it.each(samples.map((m, i) => [`${m.type} #${i}`, m] as const))('round-trips %s', (_name, m) => {
    const bytes = raft.encodeMessage(m);
    expect(bytes[0]).toBe(m.type === 'resign' ? RAFT_RESIGN_VERSION : RAFT_CODEC_VERSION);
    expect(plain(raft.decodeMessage(bytes))).toEqual(plain(m));
  });

  it('is compact: a heartbeat takes a handful of bytes, an entry costs little more than its data', () => {
    const hb = samples.find((m) => m.type === 'heartbeat');
    expect(hb && encodeMessage(hb).length).toBeLessThan(24);
    const append = samples[0];
    if (append?.type !== 'append') throw new Error('sample 0 is an append');
    const payload = append.entries.reduce((n, e) => n + e.data.length, 0);
    expect(encodeMessage(append).length).toBeLessThan(payload + 48);
  });

  it('decodes entry data as views into the input, without copying', () => {
    // A message that owns its buffer (as a large frame does), so no record is a small part of a larger one.
    const bytes = new Uint8Array(encodeMessage(samples[0] as RaftMessage));
    const m = decodeMessage(bytes);
    if (m.type !== 'append') throw new Error('expected an append');
    expect(m.entries[2]?.data.buffer).toBe(bytes.buffer);
  });

  it('refuses to encode entries that are not contiguous after prevIndex (a bug, not bad input)', () => {
    const m = samples[0];
    if (m?.type !== 'append') throw new Error('sample 0 is an append');
    expect(() => encodeMessage({ ...m, prevIndex: logIndex(1) })).toThrow(/expected 2/);
  });

  it('rejects a wrong version, an unknown type and trailing bytes, naming the problem', () => {
    const good = encodeMessage(samples[9] as RaftMessage);
    expectBadMessage(Uint8Array.of(RAFT_RESIGN_VERSION + 1, ...good.subarray(1)), new RegExp(`unsupported version ${RAFT_RESIGN_VERSION + 1}`));
    // resign exists only at version 3, every other type only at version 2.
    expectBadMessage(Uint8Array.of(RAFT_RESIGN_VERSION, ...good.subarray(1)), /timeoutNow is not a message of version 3/);
    const resign = encodeMessage({ type: 'resign', from: nodeId('a'), to: nodeId('b'), term: term(1) });
    expectBadMessage(Uint8Array.of(RAFT_CODEC_VERSION, ...resign.subarray(1)), /resign is not a message of version 2/);
    expectBadMessage(Uint8Array.of(RAFT_CODEC_VERSION, 200, ...good.subarray(2)), /unknown type 200/);
    expectBadMessage(Uint8Array.of(...good, 0), /trailing/);
    expectBadMessage(new Uint8Array(0), /truncated before version/);
  });

  it('rejects out-of-range fields: booleans, kinds, roles, oversized and overlong integers, bad UTF-8, empty ids', () => {
    const vote = encodeMessage(samples[7] as RaftMessage); // voteResponse: last byte is the reject flag
    expectBadMessage(Uint8Array.of(...vote.subarray(0, vote.length - 1), 2), /reject must be 0 or 1/);
    const append = encodeMessage(samples[1] as RaftMessage);
    // Replace the empty entry list (count 0) by one entry with kind 5.
    expectBadMessage(Uint8Array.of(...append.subarray(0, append.length - 1), 1, 1, 5, 0), /unknown kind/);
    const snap = encodeMessage(samples[12] as RaftMessage);
    expectBadMessage(Uint8Array.of(...snap.subarray(0, snap.length - 1), 9), /unknown role/);
    const head = [RAFT_CODEC_VERSION, 9, 1, 0x61, 1, 0x62];
    expectBadMessage(Uint8Array.of(...head, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /longer than 8 bytes/);
    expectBadMessage(Uint8Array.of(...head, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), /largest safe integer/);
    expectBadMessage(Uint8Array.of(...head, 0x80, 0x00), /overlong/);
    expectBadMessage(Uint8Array.of(RAFT_CODEC_VERSION, 9, 1, 0xff, 1, 0x62, 0), /not valid UTF-8/);
    expectBadMessage(Uint8Array.of(RAFT_CODEC_VERSION, 9, 0, 1, 0x62, 0), /from is empty/);
    // A count far beyond what the remaining bytes could hold is refused before allocating.
    expectBadMessage(Uint8Array.of(...append.subarray(0, append.length - 1), 0xff, 0xff, 0xff, 0x7f), /does not fit/);
  });

  it('rejects every truncation of every message type', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m);
      for (let n = 0; n < bytes.length; n++) expectBadMessage(bytes.subarray(0, n));
    }
  });

  it('only ever throws ConsensusError on seeded random and bit-flipped input', () => {
    const random = seededRandom(20240601);
    const encoded = samples.map(encodeMessage);
    let decodedOk = 0;
    for (let i = 0; i < 4000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(Math.floor(random() * 64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
        if (bytes.length > 1 && i % 4 === 0) bytes[0] = RAFT_CODEC_VERSION; // get past the version byte often
      } else {
        const src = encoded[i % encoded.length] ?? new Uint8Array(0);
        bytes = Uint8Array.from(src);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(random() * bytes.length);
          bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
        }
      }
      try {
        const m = decodeMessage(bytes);
        decodedOk++;
        // Whatever decodes must re-encode to the same bytes (the format is canonical).
        expect(Array.from(encodeMessage(m))).toEqual(Array.from(bytes));
      } catch (e: unknown) {
        if (!(e instanceof ConsensusError) || e.code !== 'bad_message') throw e;
      }
    }
    expect(decodedOk).toBeLessThan(4000);
  });
});
