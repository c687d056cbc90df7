/**
 * A bounded map that forgets an entry not used lately: the oldest one not read since it was
 * last passed over (second chance). A hit only marks its entry: moving it to the newest end of
 * the Map, as a strict LRU does, deleted and inserted a key on every read, and the holes made
 * V8 rebuild the table (a statement cache is read on every query).
 */
interface Slot<V> {
  value: V;
  used: boolean;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Slot<V>>();

  constructor(
    private readonly entriesMax: number,
    private readonly onEvict: (value: V) => void = () => undefined,
  ) {}

  get(key: K): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  set(key: K, value: V): void {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      slot.value = value;
      slot.used = true;
      return;
    }
    // Room is made first, so the entry just added is never the one forgotten.
    if (this.map.size >= this.entriesMax) this.evictOne();
    this.map.set(key, { value, used: false });
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }

  /** Each pass either forgets an entry or takes a mark away, so it ends within size + 1 steps. */
  private evictOne(): void {
    for (;;) {
      const oldest = this.map.entries().next();
      if (oldest.done === true) return;
      const [key, slot] = oldest.value;
      this.map.delete(key);
      if (!slot.used) {
        this.onEvict(slot.value);
        return;
      }
      slot.used = false;
      this.map.set(key, slot);
    }
  }
}
