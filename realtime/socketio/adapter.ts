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
  restoreSession(pid: string, offset: unknown): RestoredSession | undefined;
  close(): void;
}

export interface AdapterOptions {
  /** Keep a log of broadcasts for connection state recovery, this long (ms); 0 = off. */
  recoveryWindow: number;
}

export type AdapterFactory = (nsp: AdapterNamespace, opts: AdapterOptions) => Adapter;

interface LogEntry {
  seq: number;
  at: number;
  opts: BroadcastOptions;
  packets: OutPacket[];
}

const encoder = new Encoder();

/** Encodes a Socket.IO packet once into Engine.IO message packets with their frames. */
export function preparePacket(packet: SioPacket): OutPacket[] {
  return messagePackets(encoder.encode(packet) as RawData[]);
}

/** The single-process adapter: rooms as two indexes, broadcasts to local sockets only. */
export class MemoryAdapter implements Adapter {
  readonly rooms = new Map<Room, Set<SocketId>>();
  readonly sids = new Map<SocketId, Set<Room>>();
  readonly #log: LogEntry[] = [];
  readonly #sessions = new Map<string, SessionState & { expires: number }>();
  readonly #tag = crypto.randomUUID().slice(0, 8);
  #seq = 0;

  constructor(readonly nsp: AdapterNamespace, readonly opts: AdapterOptions) {}

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

  broadcast(packet: SioPacket, opts: BroadcastOptions): void {
    const logged = this.opts.recoveryWindow > 0 && packet.type === PacketType.EVENT &&
      packet.id === undefined && !opts.volatile;
    if (logged) {
      // The offset travels as the event's last argument; the client hands it back on reconnect.
      const seq = ++this.#seq;
      packet = { ...packet, data: [...(packet.data as unknown[]), this.#offset(seq)] };
      const packets = preparePacket(packet);
      this.#log.push({ seq, at: Date.now(), opts, packets });
      this.#prune();
      this.#deliver(packets, opts);
    } else {
      this.#deliver(preparePacket(packet), opts);
    }
  }

  #deliver(packets: OutPacket[], opts: BroadcastOptions): void {
    for (const id of this.socketIds(opts)) {
      this.nsp.sockets.get(id)?.deliver(packets, opts.volatile ?? false);
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

  #offset(seq: number): string {
    return `${this.#tag}-${seq.toString(36)}`;
  }

  #parseOffset(offset: unknown): number | undefined {
    if (typeof offset !== "string") return undefined;
    const [tag, seq] = offset.split("-");
    const n = parseInt(seq ?? "", 36);
    return tag === this.#tag && Number.isSafeInteger(n) ? n : undefined;
  }

  #prune(): void {
    const cutoff = Date.now() - this.opts.recoveryWindow;
    let drop = 0;
    while (drop < this.#log.length && this.#log[drop].at < cutoff) drop++;
    if (drop > 0) this.#log.splice(0, drop);
    for (const [pid, session] of this.#sessions) {
      if (session.expires < Date.now()) this.#sessions.delete(pid);
    }
  }

  position(): number {
    return this.#seq;
  }

  persistSession(state: SessionState): void {
    if (this.opts.recoveryWindow <= 0) return;
    this.#sessions.set(state.pid, { ...state, expires: Date.now() + this.opts.recoveryWindow });
  }

  /**
   * The state of a socket that dropped, with the broadcasts it missed. Without an offset (the
   * client got no broadcast before it dropped) replay starts where the socket connected.
   */
  restoreSession(pid: string, offset: unknown): RestoredSession | undefined {
    this.#prune();
    const session = this.#sessions.get(pid);
    if (!session) return undefined;
    this.#sessions.delete(pid);
    const from = offset === undefined ? session.since : this.#parseOffset(offset);
    if (from === undefined) return undefined;
    // Everything after `from` must still be in the log, or the client would miss a gap.
    const first = this.#log[0]?.seq ?? this.#seq + 1;
    if (from + 1 < first && from < this.#seq) return undefined;
    const rooms = new Set(session.rooms);
    const missed: OutPacket[][] = [];
    for (const entry of this.#log) {
      if (entry.seq <= from) continue;
      const { rooms: to, except } = entry.opts;
      if ([...except].some((room) => rooms.has(room))) continue;
      if (to.size === 0 || [...to].some((room) => rooms.has(room))) missed.push(entry.packets);
    }
    const { expires: _, ...state } = session;
    return { ...state, missed };
  }

  close(): void {
    this.rooms.clear();
    this.sids.clear();
    this.#log.length = 0;
    this.#sessions.clear();
  }
}

export const memoryAdapter: AdapterFactory = (nsp, opts) => new MemoryAdapter(nsp, opts);
