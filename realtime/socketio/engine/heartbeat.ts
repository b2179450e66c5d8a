// One timer for the heartbeats of every session of a server, instead of a ping timer and a
// pong timer per session. Sessions wait in buckets of `resolution` ms; the timer wakes once
// per due bucket, so thousands of idle connections cost one timer, not thousands.

/** Something the heartbeat wakes. `_slot` is the heartbeat's bookkeeping (-1: not waiting). */
export interface HeartbeatEntry {
  _slot: number;
  /** Called once when due; may schedule itself again. */
  _beat(): void;
}

export class Heartbeat {
  readonly #slots = new Map<number, Set<HeartbeatEntry>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The slot the timer is armed for. */
  #armed = Infinity;

  /** `resolution`: how late (ms) an entry may be woken, and how often the timer may fire. */
  constructor(readonly resolution: number) {}

  /** A resolution for these intervals: a tenth of the shortest, between 1 ms and 1 s. */
  static resolutionFor(...intervals: number[]): number {
    return Math.max(1, Math.min(1000, Math.floor(Math.min(...intervals) / 10)));
  }

  /** How many entries wait (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const entries of this.#slots.values()) n += entries.size;
    return n;
  }

  /** Wakes `entry` `delay` ms from now, or up to one resolution later; never earlier. */
  schedule(entry: HeartbeatEntry, delay: number): void {
    this.cancel(entry);
    const slot = Math.ceil((performance.now() + delay) / this.resolution);
    let entries = this.#slots.get(slot);
    if (!entries) this.#slots.set(slot, entries = new Set());
    entries.add(entry);
    entry._slot = slot;
    if (slot < this.#armed) this.#arm(slot);
  }

  cancel(entry: HeartbeatEntry): void {
    const slot = entry._slot;
    if (slot < 0) return;
    entry._slot = -1;
    const entries = this.#slots.get(slot);
    if (!entries) return;
    entries.delete(entry);
    if (entries.size > 0) return;
    this.#slots.delete(slot);
    if (this.#slots.size === 0) this.stop();
  }

  /** Stops the timer and forgets every entry. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armed = Infinity;
    for (const entries of this.#slots.values()) for (const entry of entries) entry._slot = -1;
    this.#slots.clear();
  }

  #arm(slot: number): void {
    clearTimeout(this.#timer);
    this.#armed = slot;
    const wait = Math.max(0, slot * this.resolution - performance.now());
    this.#timer = setTimeout(this.#tick, wait);
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    this.#armed = Infinity;
    const now = Math.floor(performance.now() / this.resolution);
    const due: [number, Set<HeartbeatEntry>][] = [];
    for (const [slot, entries] of this.#slots) {
      if (slot > now) continue;
      due.push([slot, entries]);
      this.#slots.delete(slot);
    }
    for (const [slot, entries] of due) {
      for (const entry of entries) {
        // Skipped when an earlier entry's beat cancelled or moved it.
        if (entry._slot !== slot) continue;
        entry._slot = -1;
        entry._beat();
      }
    }
    let next = Infinity;
    for (const slot of this.#slots.keys()) if (slot < next) next = slot;
    if (next < this.#armed && next !== Infinity) this.#arm(next);
  };
}
