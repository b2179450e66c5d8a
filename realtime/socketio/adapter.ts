// The adapter: which sockets are in which rooms, and how a broadcast reaches them. This is the
// boundary a multi-node adapter (Redis) replaces; namespaces and sockets only use this
// interface. A broadcast is encoded once here and the same frames go to every recipient.
import { Encoder, PacketType } from "socket.io-parser";
import { messagePackets, type OutPacket, type RawData } from "./engine/session.ts";

export type Room = string;
export type SocketId = string;

export interface SioPacket {
  type: PacketType;
  nsp: string;
  data?: unknown;
  id?: number;
}

export interface BroadcastOptions {
  /** Empty: every socket of the namespace. */
  rooms: ReadonlySet<Room>;
  /** Sockets in any of these rooms (a socket id is a room too) are left out. */
  except: ReadonlySet<Room>;
  /** Volatile: dropped for recipients that cannot take it right now. */
  volatile?: boolean;
}

/** What the adapter needs of a local socket. */
export interface AdapterSocket {
  readonly id: SocketId;
  /**
   * Set when the client takes part in connection state recovery: its events carry the log
   * offset as a last argument. Without it the client gets exactly the arguments emitted.
   */
  readonly pid?: string;
  deliver(packets: OutPacket[], volatile: boolean): void;
  disconnect(close?: boolean): void;
}

/** What the adapter needs of its namespace. */
export interface AdapterNamespace {
  readonly name: string;
  readonly sockets: ReadonlyMap<SocketId, AdapterSocket>;
  /** Runs the namespace's listeners for an event another node sent with serverSideEmit. */
  onServerSideEmit(args: unknown[]): void;
}

/** A disconnected socket's state, kept for connection state recovery. */
export interface SessionState {
  sid: SocketId;
  pid: string;
  rooms: Room[];
  data: unknown;
  /** The log position when the socket (last) connected: where replay starts without offset. */
  since: number;
}

/** How much the recovery log and the kept sessions hold right now (MemoryAdapter). */
export interface RecoveryStats {
  /** Broadcasts in the log. */
  entries: number;
  /** Their encoded size: the frames as written. */
  bytes: number;
  /** Dropped clients' states waiting for them to come back. */
  sessions: number;
}

export interface RestoredSession extends SessionState {
  /** Broadcasts the socket missed, oldest first, ready to write. */
  missed: OutPacket[][];
}

export interface Adapter {
  readonly rooms: ReadonlyMap<Room, ReadonlySet<SocketId>>;
  readonly sids: ReadonlyMap<SocketId, ReadonlySet<Room>>;
  addAll(id: SocketId, rooms: Iterable<Room>): void;
  del(id: SocketId, room: Room): void;
  delAll(id: SocketId): void;
  broadcast(packet: SioPacket, opts: BroadcastOptions): void;
  /** Ids of the local sockets a broadcast with these options would reach. */
  socketIds(opts: BroadcastOptions): Set<SocketId>;
  addSockets(opts: BroadcastOptions, rooms: Room[]): void;
  delSockets(opts: BroadcastOptions, rooms: Room[]): void;
  disconnectSockets(opts: BroadcastOptions, close: boolean): void;
  serverSideEmit(args: unknown[]): void;
  /** The current log position (recovery), stored with each connecting socket. */
  position(): number;
  persistSession(state: SessionState): void;
  /**
   * The state restoreSession would give for this pid and offset, without taking it: what the
   * middlewares see while a recovery is checked (extension; socket.io has no such step).
   */
  peekSession(pid: string, offset: unknown): SessionState | undefined;
  /** Takes the state and the broadcasts missed since `offset`; a pid is restored once. */
  restoreSession(pid: string, offset: unknown): RestoredSession | undefined;
  /**
   * Forgets every kept state that `match` accepts (extension), e.g. those of a login session
   * that was revoked, so they can never be restored. Returns how many went.
   */
  dropSessions(match: (state: SessionState) => boolean): number;
  close(): void;
}

export interface AdapterOptions {
  /** Keep a log of broadcasts for connection state recovery, this long (ms); 0 = off. */
  recoveryWindow: number;
  /** Most broadcasts the log keeps; the oldest go first. Default RECOVERY_LIMITS.maxEvents. */
  maxEvents?: number;
  /** Most bytes (encoded frames) the log keeps. Default RECOVERY_LIMITS.maxBytes. */
  maxBytes?: number;
  /** Most dropped clients' states kept; the oldest go first. Default RECOVERY_LIMITS.maxSessions. */
  maxSessions?: number;
}

/** Bounds of the recovery memory, besides the time window, when none are given. */
export const RECOVERY_LIMITS = {
  maxEvents: 10_000,
  maxBytes: 16 * 1024 * 1024,
  maxSessions: 10_000,
} as const;

export type AdapterFactory = (nsp: AdapterNamespace, opts: AdapterOptions) => Adapter;

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

const encoder = new Encoder();

/** Encodes a Socket.IO packet once into Engine.IO message packets with their frames. */
export function preparePacket(packet: SioPacket): OutPacket[] {
  return messagePackets(encoder.encode(packet) as RawData[]);
}

/** The wire size of prepared packets (what the log holds). */
function sizeOf(packets: OutPacket[]): number {
  let bytes = 0;
  for (const packet of packets) {
    const frame = packet.frame ?? packet.data;
    if (frame === undefined) bytes += 1;
    else bytes += typeof frame === "string" ? frame.length : frame.byteLength;
  }
  return bytes;
}

/**
 * The single-process adapter: rooms as two indexes, broadcasts to local sockets only. With
 * recovery on it keeps a log of broadcasts and the states of dropped clients, bounded by time,
 * count and bytes, and trimmed on a timer as well as on use.
 */
export class MemoryAdapter implements Adapter {
  readonly rooms = new Map<Room, Set<SocketId>>();
  readonly sids = new Map<SocketId, Set<Room>>();
  readonly #log: LogEntry[] = [];
  #logBytes = 0;
  /** Insertion order is age: the first entry is the oldest. */
  readonly #sessions = new Map<string, KeptSession>();
  readonly #tag = crypto.randomUUID().slice(0, 8);
  readonly #limits: Required<Omit<AdapterOptions, "recoveryWindow">>;
  readonly #sweeper: ReturnType<typeof setInterval> | undefined;
  #seq = 0;

  constructor(readonly nsp: AdapterNamespace, readonly opts: AdapterOptions) {
    this.#limits = {
      maxEvents: opts.maxEvents ?? RECOVERY_LIMITS.maxEvents,
      maxBytes: opts.maxBytes ?? RECOVERY_LIMITS.maxBytes,
      maxSessions: opts.maxSessions ?? RECOVERY_LIMITS.maxSessions,
    };
    if (opts.recoveryWindow > 0) {
      // Expired entries go even when nothing is broadcast; the timer never keeps a process up.
      const period = Math.min(Math.max(opts.recoveryWindow / 4, 50), 15_000);
      const sweeper = setInterval(() => this.#prune(), period);
      Deno.unrefTimer(sweeper);
      this.#sweeper = sweeper;
    }
  }

  addAll(id: SocketId, rooms: Iterable<Room>): void {
    let mine = this.sids.get(id);
    if (!mine) this.sids.set(id, mine = new Set());
    for (const room of rooms) {
      mine.add(room);
      let members = this.rooms.get(room);
      if (!members) this.rooms.set(room, members = new Set());
      members.add(id);
    }
  }

  del(id: SocketId, room: Room): void {
    this.sids.get(id)?.delete(room);
    const members = this.rooms.get(room);
    if (!members) return;
    members.delete(id);
    if (members.size === 0) this.rooms.delete(room);
  }

  delAll(id: SocketId): void {
    const mine = this.sids.get(id);
    if (!mine) return;
    for (const room of mine) {
      const members = this.rooms.get(room);
      members?.delete(id);
      if (members?.size === 0) this.rooms.delete(room);
    }
    this.sids.delete(id);
  }

  socketIds(opts: BroadcastOptions): Set<SocketId> {
    const excluded = new Set<SocketId>();
    for (const room of opts.except) {
      for (const id of this.rooms.get(room) ?? []) excluded.add(id);
    }
    const ids = new Set<SocketId>();
    const candidates = opts.rooms.size === 0
      ? this.sids.keys()
      : [...opts.rooms].flatMap((room) => [...(this.rooms.get(room) ?? [])]);
    for (const id of candidates) if (!excluded.has(id)) ids.add(id);
    return ids;
  }

  /**
   * Encodes the packet at most once per kind of recipient: with the recovery offset as a last
   * argument for clients that take part in recovery, without for the others.
   */
  broadcast(packet: SioPacket, opts: BroadcastOptions): void {
    const recipients: AdapterSocket[] = [];
    for (const id of this.socketIds(opts)) {
      const socket = this.nsp.sockets.get(id);
      if (socket) recipients.push(socket);
    }
    let withOffset: OutPacket[] | undefined;
    // Logged when someone could ask for it again: a recovering recipient, or a dropped client.
    if (
      this.opts.recoveryWindow > 0 && packet.type === PacketType.EVENT &&
      packet.id === undefined && !opts.volatile &&
      (this.#sessions.size > 0 || recipients.some((socket) => socket.pid !== undefined))
    ) {
      const seq = ++this.#seq;
      withOffset = preparePacket({
        ...packet,
        data: [...(packet.data as unknown[]), this.#offset(seq)],
      });
      const bytes = sizeOf(withOffset);
      this.#log.push({ seq, at: Date.now(), opts, packets: withOffset, bytes });
      this.#logBytes += bytes;
      this.#prune();
    }
    let plain: OutPacket[] | undefined;
    const volatile = opts.volatile ?? false;
    for (const socket of recipients) {
      const packets = withOffset && socket.pid !== undefined
        ? withOffset
        : (plain ??= preparePacket(packet));
      socket.deliver(packets, volatile);
    }
  }

  addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const id of this.socketIds(opts)) this.addAll(id, rooms);
  }

  delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const id of this.socketIds(opts)) for (const room of rooms) this.del(id, room);
  }

  disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    for (const id of this.socketIds(opts)) this.nsp.sockets.get(id)?.disconnect(close);
  }

  serverSideEmit(_args: unknown[]): void {
    // A single process has no other nodes to tell.
  }

  // --- connection state recovery -------------------------------------------------------------

  /** What the recovery log and the kept sessions hold now (extension, for bounds and tests). */
  get recoveryStats(): RecoveryStats {
    return { entries: this.#log.length, bytes: this.#logBytes, sessions: this.#sessions.size };
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
    const cutoff = now - this.opts.recoveryWindow;
    const { maxEvents, maxBytes, maxSessions } = this.#limits;
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

  persistSession(state: SessionState): void {
    if (this.opts.recoveryWindow <= 0) return;
    // Re-inserted, so the map's order stays the order of age.
    this.#sessions.delete(state.pid);
    this.#sessions.set(state.pid, { ...state, expires: Date.now() + this.opts.recoveryWindow });
    this.#prune();
  }

  /** The kept state and where its replay starts, when every broadcast since is still logged. */
  #find(pid: string, offset: unknown): { session: KeptSession; from: number } | undefined {
    const session = this.#sessions.get(pid);
    if (!session || session.expires < Date.now()) return undefined;
    const from = offset === undefined ? session.since : this.#parseOffset(offset);
    if (from === undefined) return undefined;
    // Everything after `from` must still be in the log, or the client would miss a gap.
    const first = this.#log[0]?.seq ?? this.#seq + 1;
    if (from + 1 < first && from < this.#seq) return undefined;
    return { session, from };
  }

  peekSession(pid: string, offset: unknown): SessionState | undefined {
    const found = this.#find(pid, offset);
    if (!found) return undefined;
    const { expires: _, ...state } = found.session;
    return state;
  }

  /**
   * The state of a socket that dropped, with the broadcasts it missed. Without an offset (the
   * client got no broadcast before it dropped) replay starts where the socket connected.
   */
  restoreSession(pid: string, offset: unknown): RestoredSession | undefined {
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
      const { rooms: to, except } = entry.opts;
      if ([...except].some((room) => rooms.has(room))) continue;
      if (to.size === 0 || [...to].some((room) => rooms.has(room))) missed.push(entry.packets);
    }
    const { expires: _, ...state } = session;
    return { ...state, missed };
  }

  dropSessions(match: (state: SessionState) => boolean): number {
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
    this.rooms.clear();
    this.sids.clear();
    this.#log.length = 0;
    this.#logBytes = 0;
    this.#sessions.clear();
  }
}

export const memoryAdapter: AdapterFactory = (nsp, opts) => new MemoryAdapter(nsp, opts);
