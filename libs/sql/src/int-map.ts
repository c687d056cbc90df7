/**
 * A map from non-negative 31-bit integers to non-negative safe integers, held in two typed
 * arrays: open addressing with linear probing, and deletion by shifting the entries after a
 * removed one back (no tombstones, so lookups never slow down as entries come and go).
 *
 * The dedup window keeps one entry per request in its window (100,000 by default): as a
 * `Map<number, number>` that was a 7.3 MB table in V8's heap on every node — the table grows
 * to hold the entries deleted since its last rehash too — and here it is 3.1 MB (12 bytes a
 * slot, at most half of the slots used).
 */
const EMPTY = -1;
const CAPACITY_MIN = 16;
const SLOTS_MAX = 2 ** 30;

export class IntMap {
  private keys: Int32Array;
  private values: Float64Array;
  /** 32 less log2 of the capacity: a key's home slot is the top bits of its mixed hash. */
  private shift: number;
  private count = 0;

  /** `slots`: how many slots to start with (rounded up to a power of two; it doubles as entries come). */
  constructor(slots = CAPACITY_MIN) {
    if (!Number.isInteger(slots) || slots < 1 || slots > SLOTS_MAX) throw new RangeError(`IntMap: ${slots} slots is not an integer in [1, 2^30]`);
    let bits = Math.log2(CAPACITY_MIN);
    while (2 ** bits < slots) bits++;
    this.keys = new Int32Array(1 << bits).fill(EMPTY);
    this.values = new Float64Array(1 << bits);
    this.shift = 32 - bits;
  }

  get size(): number {
    return this.count;
  }

  get(key: number): number | undefined {
    const at = this.find(key);
    return at < 0 ? undefined : this.values[at];
  }

  set(key: number, value: number): void {
    if (!Number.isInteger(key) || key < 0 || key > 0x7fffffff) throw new RangeError(`IntMap: key ${key} is not an integer in [0, 2^31)`);
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`IntMap: value ${value} is not a non-negative safe integer`);
    if ((this.count + 1) * 2 > this.keys.length) {
      if (this.keys.length >= SLOTS_MAX) throw new RangeError(`IntMap: more than ${SLOTS_MAX / 2} entries`);
      this.grow();
    }
    const mask = this.keys.length - 1;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = this.keys[i];
      if (k === key) {
        this.values[i] = value;
        return;
      }
      if (k === EMPTY) {
        this.keys[i] = key;
        this.values[i] = value;
        this.count++;
        return;
      }
    }
  }

  delete(key: number): boolean {
    let hole = this.find(key);
    if (hole < 0) return false;
    const mask = this.keys.length - 1;
    // Each entry after the hole, up to the next empty slot, moves back into it unless its
    // home lies after the hole (cyclically, in (hole, j]): then it must stay where a lookup
    // from its home reaches it.
    for (let j = (hole + 1) & mask; this.keys[j] !== EMPTY; j = (j + 1) & mask) {
      const k = this.keys[j]!;
      if (((j - this.home(k)) & mask) >= ((j - hole) & mask)) {
        this.keys[hole] = k;
        this.values[hole] = this.values[j]!;
        hole = j;
      }
    }
    this.keys[hole] = EMPTY;
    this.count--;
    return true;
  }

  /** The slot holding `key`, or -1 (an empty slot is tested first: no key is EMPTY). */
  private find(key: number): number {
    const mask = this.keys.length - 1;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = this.keys[i];
      if (k === EMPTY) return -1;
      if (k === key) return i;
    }
  }

  /** Fibonacci hashing: keys that differ only in their low bits land far apart. */
  private home(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Int32Array(keys.length * 2).fill(EMPTY);
    this.values = new Float64Array(keys.length * 2);
    this.shift--;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i]!, values[i]!);
  }
}
