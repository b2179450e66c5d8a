// The in-process recovery store: a log of broadcasts and the states of dropped clients, bounded
// by time, count and bytes, and trimmed on a timer as well as on use.
import { preparePacket } from "./adapter.ts";
import type { BroadcastOptions, SioPacket } from "./adapter.ts";
import type { OutPacket } from "./engine/session.ts";
import type {
  RecoveryLimits,
  RecoveryStats,
  RecoveryStore,
  RecoveryStoreFactory,
  RestoredSession,
  SessionState,
} from "./recovery.ts";

interface LogEntry {
  seq: number;
  at: number;
  opts: BroadcastOptions;
  packets: OutPacket[];
  bytes: number;
}

interface KeptSession extends SessionState {
  expires: number;
}

/** The wire size of prepared packets (what the log holds). */
export function sizeOf(packets: OutPacket[]): number {
  let bytes = 0;
  for (const packet of packets) {
    const frame = packet.frame ?? packet.data;
    if (frame === undefined) bytes += 1;
    else bytes += typeof frame === "string" ? frame.length : frame.byteLength;
  }
  return bytes;
}

/** Whether a broadcast with these options reaches a socket that was in `rooms`. */
export function reaches(opts: BroadcastOptions, rooms: ReadonlySet<string>): boolean {
  for (const room of opts.except) if (rooms.has(room)) return false;
  if (opts.rooms.size === 0) return true;
  for (const room of opts.rooms) if (rooms.has(room)) return true;
  return false;
}

export class MemoryRecoveryStore implements RecoveryStore {
  readonly #log: LogEntry[] = [];
  #logBytes = 0;
  /** Insertion order is age: the first entry is the oldest. */
  readonly #sessions = new Map<string, KeptSession>();
  readonly #tag = crypto.randomUUID().slice(0, 8);
  readonly #sweeper: ReturnType<typeof setInterval>;
  #seq = 0;

  constructor(readonly limits: RecoveryLimits) {
    // Expired entries go even when nothing is broadcast; the timer never keeps a process up.
    const period = Math.min(Math.max(limits.window / 4, 50), 15_000);
    this.#sweeper = setInterval(() => this.#prune(), period);
    Deno.unrefTimer(this.#sweeper);
  }

  get stats(): RecoveryStats {
    return { entries: this.#log.length, bytes: this.#logBytes, sessions: this.#sessions.size };
  }

  /** Logged when someone could ask for it again: a recovering recipient, or a dropped client. */
  log(packet: SioPacket, opts: BroadcastOptions, recovering: boolean): OutPacket[] | undefined {
    if (!recovering && this.#sessions.size === 0) return undefined;
    const seq = ++this.#seq;
    const packets = preparePacket({
      ...packet,
      data: [...(packet.data as unknown[]), this.#offset(seq)],
    });
    const bytes = sizeOf(packets);
    this.#log.push({ seq, at: Date.now(), opts, packets, bytes });
    this.#logBytes += bytes;
    this.#prune();
    return packets;
  }

  #offset(seq: number): string {
    return `${this.#tag}-${seq.toString(36)}`;
  }

  #parseOffset(offset: unknown): number | undefined {
    if (typeof offset !== "string") return undefined;
    const [tag, seq] = offset.split("-");
    const n = parseInt(seq ?? "", 36);
    return tag === this.#tag && Number.isSafeInteger(n) ? n : undefined;
  }

  /** Drops what is past the window, then the oldest entries beyond the count and byte bounds. */
  #prune(): void {
    const now = Date.now();
    const cutoff = now - this.limits.window;
    const { maxEvents, maxBytes, maxSessions } = this.limits;
    let drop = 0;
    let bytes = this.#logBytes;
    while (
      drop < this.#log.length &&
      (this.#log[drop].at < cutoff || this.#log.length - drop > maxEvents || bytes > maxBytes)
    ) {
      bytes -= this.#log[drop].bytes;
      drop++;
    }
    if (drop > 0) {
      this.#log.splice(0, drop);
      this.#logBytes = bytes;
    }
    // Oldest first, and all with the same window: the first one still wanted ends the sweep.
    for (const [pid, session] of this.#sessions) {
      if (session.expires >= now && this.#sessions.size <= maxSessions) break;
      this.#sessions.delete(pid);
    }
  }

  position(): number {
    return this.#seq;
  }

  persist(state: SessionState): void {
    // Re-inserted, so the map's order stays the order of age.
    this.#sessions.delete(state.pid);
    this.#sessions.set(state.pid, { ...state, expires: Date.now() + this.limits.window });
    this.#prune();
  }

  /** The kept state and where its replay starts, when every broadcast since is still logged. */
  #find(pid: string, offset: unknown): { session: KeptSession; from: number } | undefined {
    const session = this.#sessions.get(pid);
    if (!session || session.expires < Date.now()) return undefined;
    const from = offset === undefined ? Number(session.since) : this.#parseOffset(offset);
    if (from === undefined || !Number.isSafeInteger(from)) return undefined;
    // Everything after `from` must still be in the log, or the client would miss a gap.
    const first = this.#log[0]?.seq ?? this.#seq + 1;
    if (from + 1 < first && from < this.#seq) return undefined;
    return { session, from };
  }

  peek(pid: string, offset: unknown): SessionState | undefined {
    const found = this.#find(pid, offset);
    if (!found) return undefined;
    const { expires: _, ...state } = found.session;
    return state;
  }

  /**
   * The state of a socket that dropped, with the broadcasts it missed. Without an offset (the
   * client got no broadcast before it dropped) replay starts where the socket connected.
   */
  restore(pid: string, offset: unknown): RestoredSession | undefined {
    this.#prune();
    const found = this.#find(pid, offset);
    this.#sessions.delete(pid);
    if (!found) return undefined;
    const { session, from } = found;
    const rooms = new Set(session.rooms);
    const missed: OutPacket[][] = [];
    // Sequence numbers are contiguous in the log, so the replay starts at a known index.
    const start = Math.max(0, from + 1 - (this.#log[0]?.seq ?? 0));
    for (const entry of this.#log.slice(start)) {
      if (reaches(entry.opts, rooms)) missed.push(entry.packets);
    }
    const { expires: _, ...state } = session;
    return { ...state, missed };
  }

  drop(match: (state: SessionState) => boolean): number {
    let dropped = 0;
    for (const [pid, session] of this.#sessions) {
      if (match(session)) {
        this.#sessions.delete(pid);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#log.length = 0;
    this.#logBytes = 0;
    this.#sessions.clear();
  }
}

export const memoryRecoveryStore: RecoveryStoreFactory = (_nsp, limits) =>
  new MemoryRecoveryStore(limits);
