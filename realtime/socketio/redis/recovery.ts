// Connection state recovery in Redis, so that a client that dropped from one node resumes on
// another: each node logs the broadcasts it delivers into a stream of its own (one writer, so
// offsets are in delivery order), capped by count, bytes and the window; a dropped client's
// state is a key that expires with the window, naming that node's stream and position. The
// node it comes back to takes the state once (GETDEL) and replays what the stream holds after
// the client's offset for its rooms.
import { Buffer } from "node:buffer";
import notepack from "notepack.io";
import { RESP_TYPES } from "redis";
import { preparePacket } from "../adapter.ts";
import type { BroadcastOptions, SioPacket } from "../adapter.ts";
import { messagePackets, type OutPacket, type RawData } from "../engine/session.ts";
import type {
  RecoveryLimits,
  RecoveryStats,
  RecoveryStore,
  RecoveryStoreFactory,
  RestoredSession,
  SessionState,
} from "../recovery.ts";
import { reaches, sizeOf } from "../recovery_memory.ts";
import { type RedisClient, sharedClients } from "./clients.ts";

export interface RedisRecoveryOptions {
  url: string;
  /** Prefix of the keys: `<key>-recovery#<nsp>#…`. */
  key?: string;
  /** How long a connecting client waits for Redis before it starts fresh (ms). Default 2 s. */
  timeout?: number;
  onError?: (err: unknown) => void;
}

interface StoredSession extends SessionState {
  expires: number;
}

interface Logged {
  id: string;
  at: number;
  bytes: number;
}

/** Offsets and positions: `<node tag>:<stream id>`. */
function parsePosition(value: unknown): { tag: string; id: string } | undefined {
  if (typeof value !== "string") return undefined;
  const at = value.indexOf(":");
  const id = value.slice(at + 1);
  return at > 0 && /^\d+-\d+$/.test(id) ? { tag: value.slice(0, at), id } : undefined;
}

const seqOf = (id: string) => Number(id.slice(id.indexOf("-") + 1));

/** Resolves to undefined when Redis does not answer in time: the client starts fresh. */
function within<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  return Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

export function redisRecoveryStore(options: RedisRecoveryOptions): RecoveryStoreFactory {
  const report = options.onError ?? ((err) => console.error("socket.io recovery store:", err));
  let down = false;
  const clients = sharedClients(options.url, (err) => {
    if (!down) report(err);
    down = true;
  }, () => down = false);
  return (nsp, limits) => {
    clients.acquire();
    return new RedisRecoveryStore(
      clients.pub(),
      `${options.key ?? "socket.io"}-recovery#${nsp}#`,
      limits,
      options.timeout ?? 2000,
      clients.release,
    );
  };
}

export class RedisRecoveryStore implements RecoveryStore {
  readonly tag = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  /** What this node's stream holds, oldest first: it is the only writer. */
  readonly #logged: Logged[] = [];
  #bytes = 0;
  #seq = 0;
  #lastMs = 0;
  #expiresRefreshed = 0;
  /** States this node kept, by pid: whether someone may still ask for what is broadcast. */
  readonly #kept = new Map<string, number>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #binary: RedisClient;

  constructor(
    readonly client: RedisClient,
    readonly prefix: string,
    readonly limits: RecoveryLimits,
    readonly timeout: number,
    readonly release: () => Promise<void>,
  ) {
    this.#binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as RedisClient;
    const period = Math.min(Math.max(limits.window / 4, 50), 15_000);
    this.#sweeper = setInterval(() => this.#prune(), period);
    Deno.unrefTimer(this.#sweeper);
  }

  #stream(tag = this.tag): string {
    return `${this.prefix}log#${tag}`;
  }

  #session(pid: string): string {
    return `${this.prefix}session#${pid}`;
  }

  get #index(): string {
    return `${this.prefix}sessions`;
  }

  /** Commands are never awaited on a socket's path; a failure is the client's error handler's. */
  #send(work: Promise<unknown>): void {
    work.catch(() => {});
  }

  get stats(): RecoveryStats {
    return { entries: this.#logged.length, bytes: this.#bytes, sessions: this.#kept.size };
  }

  log(packet: SioPacket, opts: BroadcastOptions, recovering: boolean): OutPacket[] | undefined {
    if (!recovering && this.#kept.size === 0) return undefined;
    // Stream ids are chosen here, increasing even if the clock steps back.
    this.#lastMs = Math.max(this.#lastMs, Date.now());
    const id = `${this.#lastMs}-${++this.#seq}`;
    const packets = preparePacket({
      ...packet,
      data: [...(packet.data as unknown[]), `${this.tag}:${id}`],
    });
    const bytes = sizeOf(packets);
    const frames = packets.map((p) => p.data as RawData);
    const entry = notepack.encode([[...opts.rooms], [...opts.except], frames]) as Uint8Array;
    const stream = this.#stream();
    this.#send(this.client.xAdd(stream, id, { e: Buffer.from(entry) }));
    // The stream outlives its last entry by one to two windows: a gone node's log goes too.
    // Refreshed once per window, not per entry.
    if (this.#lastMs >= this.#expiresRefreshed + this.limits.window) {
      this.#expiresRefreshed = this.#lastMs;
      this.#send(this.client.pExpire(stream, this.limits.window * 2));
    }
    this.#logged.push({ id, at: Date.now(), bytes });
    this.#bytes += bytes;
    this.#prune();
    return packets;
  }

  /** Trims this node's stream to the window, the count and the bytes; forgets expired states. */
  #prune(): void {
    const now = Date.now();
    const cutoff = now - this.limits.window;
    let drop = 0;
    let bytes = this.#bytes;
    while (
      drop < this.#logged.length &&
      (this.#logged[drop].at < cutoff || this.#logged.length - drop > this.limits.maxEvents ||
        bytes > this.limits.maxBytes)
    ) {
      bytes -= this.#logged[drop].bytes;
      drop++;
    }
    if (drop > 0) {
      this.#logged.splice(0, drop);
      this.#bytes = bytes;
      const first = this.#logged[0]?.id;
      this.#send(
        first ? this.client.xTrim(this.#stream(), "MINID", first) : this.client.del(this.#stream()),
      );
    }
    for (const [pid, expires] of this.#kept) if (expires < now) this.#kept.delete(pid);
  }

  position(): string {
    return `${this.tag}:${this.#lastMs}-${this.#seq}`;
  }

  persist(state: SessionState): void {
    const expires = Date.now() + this.limits.window;
    this.#kept.set(state.pid, expires);
    const value = Buffer.from(notepack.encode({ ...state, expires }) as Uint8Array);
    this.#send(this.client.set(this.#session(state.pid), value, { PX: this.limits.window }));
    this.#send(this.#boundSessions(state.pid, expires));
  }

  /** The index of kept states, by expiry: the expired and the oldest beyond the bound go. */
  async #boundSessions(pid: string, expires: number): Promise<void> {
    await this.client.zAdd(this.#index, { score: expires, value: pid });
    await this.client.zRemRangeByScore(this.#index, "-inf", Date.now());
    await this.client.pExpire(this.#index, this.limits.window * 2);
    const excess = (await this.client.zCard(this.#index)) - this.limits.maxSessions;
    if (excess <= 0) return;
    const oldest = await this.client.zPopMinCount(this.#index, excess);
    if (oldest.length > 0) await this.client.del(oldest.map((o) => this.#session(o.value)));
  }

  async #read(pid: string, take: boolean): Promise<StoredSession | undefined> {
    const key = this.#session(pid);
    const raw = take ? await this.#binary.getDel(key) : await this.#binary.get(key);
    if (take) this.#send(this.client.zRem(this.#index, pid));
    if (!raw) return undefined;
    const session = notepack.decode(raw as unknown as Buffer) as StoredSession;
    return session.expires >= Date.now() ? session : undefined;
  }

  /**
   * Where replay starts: the client's offset when it is from the node the state was kept on,
   * else where the socket connected there (a replayed event carries the offset of the node it
   * was first logged on; starting from the connection then gives no gap).
   */
  #from(session: StoredSession, offset: unknown): { tag: string; id: string } | undefined {
    const since = parsePosition(session.since);
    const given = parsePosition(offset);
    return given && given.tag === since?.tag ? given : since;
  }

  /** The entries after `from`, or undefined when some of them were already trimmed (a gap). */
  async #after(from: { tag: string; id: string }): Promise<[string, Buffer][] | undefined> {
    const stream = this.#stream(from.tag);
    const entries = await this.#binary.xRange(stream, from.id, "+", {
      COUNT: this.limits.maxEvents + 1,
    }) as unknown as { id: Buffer | string; message: Record<string, Buffer> }[];
    const list = entries.map((e) => [String(e.id), e.message.e] as [string, Buffer]);
    if (list[0]?.[0] === from.id) return list.slice(1);
    // Nothing logged since (or the stream expired, which takes longer than the window).
    if (list.length === 0) return [];
    // One writer numbers its entries one by one: the next one after `from` must be the first.
    return seqOf(list[0][0]) === seqOf(from.id) + 1 ? list : undefined;
  }

  peek(pid: string, offset: unknown): Promise<SessionState | undefined> {
    return within(
      this.timeout,
      (async () => {
        const session = await this.#read(pid, false);
        if (!session) return undefined;
        const from = this.#from(session, offset);
        if (!from || !(await this.#after(from))) return undefined;
        const { expires: _, ...state } = session;
        return state;
      })(),
    );
  }

  restore(pid: string, offset: unknown): Promise<RestoredSession | undefined> {
    this.#kept.delete(pid);
    return within(
      this.timeout,
      (async () => {
        const session = await this.#read(pid, true);
        if (!session) return undefined;
        const from = this.#from(session, offset);
        const entries = from && await this.#after(from);
        if (!entries) return undefined;
        const rooms = new Set(session.rooms);
        const missed: OutPacket[][] = [];
        for (const [, raw] of entries) {
          const [to, except, frames] = notepack.decode(raw) as [string[], string[], RawData[]];
          if (reaches({ rooms: new Set(to), except: new Set(except) }, rooms)) {
            missed.push(messagePackets(frames));
          }
        }
        const { expires: _, ...state } = session;
        return { ...state, missed };
      })(),
    );
  }

  /** Goes through every kept state of the namespace (all nodes'): bounded by maxSessions. */
  async drop(match: (state: SessionState) => boolean): Promise<number> {
    const pids = await this.client.zRange(this.#index, 0, -1);
    if (pids.length === 0) return 0;
    const values = await this.#binary.mGet(pids.map((pid) => this.#session(pid)));
    const gone: string[] = [];
    values.forEach((raw, i) => {
      if (!raw) return;
      const session = notepack.decode(raw as unknown as Buffer) as StoredSession;
      if (match(session)) gone.push(pids[i]);
    });
    if (gone.length === 0) return 0;
    for (const pid of gone) this.#kept.delete(pid);
    await this.client.del(gone.map((pid) => this.#session(pid)));
    await this.client.zRem(this.#index, gone);
    return gone.length;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#logged.length = 0;
    this.#kept.clear();
    await this.release();
  }
}
