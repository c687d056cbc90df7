/** A bounded FIFO of encoded messages waiting for one peer. Pure: no I/O, no timers. */
export interface OutboxLimits {
  readonly messagesQueuedMax: number;
  readonly bytesQueuedMax: number;
}

export class Outbox {
  private items: Uint8Array[] = [];
  private head = 0;
  private bytesQueued = 0;

  constructor(private readonly limits: OutboxLimits) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesQueued;
  }

  /** False when the queue is full; the caller counts the drop. */
  push(message: Uint8Array): boolean {
    if (this.length >= this.limits.messagesQueuedMax) return false;
    if (this.bytesQueued + message.byteLength > this.limits.bytesQueuedMax) return false;
    this.items.push(message);
    this.bytesQueued += message.byteLength;
    return true;
  }

  /** The oldest messages whose bytes fit in `frameBytesMax` (always at least one if any are queued). */
  takeFrame(frameBytesMax: number): Uint8Array[] {
    const frame: Uint8Array[] = [];
    let frameBytes = 0;
    while (this.head < this.items.length) {
      const next = this.items[this.head] as Uint8Array;
      if (frame.length > 0 && frameBytes + next.byteLength > frameBytesMax) break;
      frame.push(next);
      frameBytes += next.byteLength;
      this.head++;
    }
    this.bytesQueued -= frameBytes;
    this.compact();
    return frame;
  }

  /** Drops everything; returns how many messages were dropped. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytesQueued = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
