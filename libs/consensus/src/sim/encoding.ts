/** Small pure helpers the simulator uses to compare payloads and fingerprint a run. */
import type { Entry } from '../contract';

const HEX_DIGITS = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  return out;
}

/** ASCII-only encoder: simulator payloads are short ASCII labels, so no TextEncoder is needed. */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}

/**
 * What the state machine saw of an applied record: its kind and bytes. Two nodes agree on
 * an index when they applied the same command there, whatever fencing number each record
 * carried (a Multi-Paxos value is re-proposed under a newer ballot). Used as the value of
 * every state-machine model.
 */
export function appliedKey(entry: Entry): string {
  return `${entry.kind}|${toHex(entry.data)}`;
}

/** FNV-1a over the event trace, two lanes so collisions across seeds are unlikely. */
export class TraceDigest {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  add(line: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193) >>> 0;
      b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    }
    this.a = Math.imul(a ^ 10, 0x01000193) >>> 0;
    this.b = Math.imul(b ^ 10, 0x5bd1e995) >>> 0;
  }

  hex(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}
