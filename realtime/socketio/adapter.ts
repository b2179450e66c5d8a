// The adapter: which sockets are in which rooms, and how a broadcast reaches them. This is the
// boundary a multi-node adapter (Redis) replaces; namespaces and sockets only use this
// interface. A broadcast is encoded once here and the same frames go to every recipient.
import { Encoder, type PacketType } from "socket.io-parser";
import { messagePackets, type OutPacket, type RawData } from "./engine/session.ts";
import {
  isRecoverable,
  type RecoveryStats,
  type RecoveryStore,
  type RecoveryStoreFactory,
  type RestoredSession,
  type SessionState,
} from "./recovery.ts";
import { memoryRecoveryStore } from "./recovery_memory.ts";

export type { RecoveryStats, RestoredSession, SessionState };

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
  /** This node's sockets only (a cross-node adapter does not publish it). */
  local?: boolean;
}

/** What the adapter needs of a local socket. */
export interface AdapterSocket {
  readonly id: SocketId;
  /**
   * Set when the client takes part in connection state recovery: its events carry the log
   * offset as a last argument. Without it the client gets exactly the arguments emitted.
   */
  readonly pid?: string;
  /** Writes (or queues) the packets; false when they were dropped (gone, or volatile). */
  deliver(packets: OutPacket[], volatile: boolean): boolean;
  /** Waits for the client's ack of packet `id` (broadcasts with acks). */
  expectAck?(id: number, onAck: (args: unknown[]) => void): void;
  disconnect(close?: boolean): void;
}

/** What the adapter needs of its namespace. */
export interface AdapterNamespace {
  readonly name: string;
  readonly sockets: ReadonlyMap<SocketId, AdapterSocket>;
  /** Runs the namespace's listeners for an event another node sent with serverSideEmit. */
  onServerSideEmit(args: unknown[]): void;
  /** A new ack id, unique in the namespace (socket.io numbers them per namespace too). */
  nextAckId(): number;
  /** Told once per broadcast how many packets went to its local sockets (metrics). */
  delivered?(packets: number): void;
}

export interface Adapter {
  readonly rooms: ReadonlyMap<Room, ReadonlySet<SocketId>>;
  readonly sids: ReadonlyMap<SocketId, ReadonlySet<Room>>;
  addAll(id: SocketId, rooms: Iterable<Room>): void;
  del(id: SocketId, room: Room): void;
  delAll(id: SocketId): void;
  broadcast(packet: SioPacket, opts: BroadcastOptions): void;
  /**
   * A broadcast whose recipients each ack: `onCount` once per node with how many sockets got
   * it there, `onAck` with each one's first ack argument. `timeout` (ms) bounds the wait.
   */
  broadcastWithAck(
    packet: SioPacket,
    opts: BroadcastOptions,
    timeout: number,
    onCount: (clients: number) => void,
    onAck: (arg: unknown) => void,
  ): void;
  /** Ids of the local sockets a broadcast with these options would reach. */
  socketIds(opts: BroadcastOptions): Set<SocketId>;
  /** The matching sockets of the other nodes (none with one process). */
  remoteSockets?(opts: BroadcastOptions): Promise<RemoteSocketData[]>;
  addSockets(opts: BroadcastOptions, rooms: Room[]): void;
  delSockets(opts: BroadcastOptions, rooms: Room[]): void;
  disconnectSockets(opts: BroadcastOptions, close: boolean): void;
  /**
   * Runs the namespace's listeners on the other nodes. A function as last argument gets
   * `(err, responses)`: every other node's first ack argument (an error after the timeout).
   */
  serverSideEmit(args: unknown[]): void;
  /** How many nodes (servers) serve this namespace, this one included. */
  serverCount(): Promise<number>;
  /** Every room with a socket in it on any node. */
  allRooms(): Promise<Set<Room>>;
  /** The current log position (recovery), stored with each connecting socket. */
  position(): number | string;
  persistSession(state: SessionState): void;
  /**
   * The state restoreSession would give for this pid and offset, without taking it: what the
   * middlewares see while a recovery is checked (extension; socket.io has no such step).
   */
  peekSession(
    pid: string,
    offset: unknown,
  ): SessionState | undefined | Promise<SessionState | undefined>;
  /** Takes the state and the broadcasts missed since `offset`; a pid is restored once. */
  restoreSession(
    pid: string,
    offset: unknown,
  ): RestoredSession | undefined | Promise<RestoredSession | undefined>;
  /**
   * Forgets every kept state that `match` accepts (extension), e.g. those of a login session
   * that was revoked, so they can never be restored. Returns how many went.
   */
  dropSessions(match: (state: SessionState) => boolean): number | Promise<number>;
  close(): void | Promise<void>;
}

/** What another node tells of one of its sockets (fetchSockets across nodes). */
export interface RemoteSocketData {
  id: SocketId;
  handshake: unknown;
  rooms: Room[];
  data: unknown;
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
  /** Where the log and the kept states live. Default: this process's memory. */
  recoveryStore?: RecoveryStoreFactory;
}

/** Bounds of the recovery memory, besides the time window, when none are given. */
export const RECOVERY_LIMITS = {
  maxEvents: 10_000,
  maxBytes: 16 * 1024 * 1024,
  maxSessions: 10_000,
} as const;

export type AdapterFactory = (nsp: AdapterNamespace, opts: AdapterOptions) => Adapter;

const encoder = new Encoder();
const NO_IDS: ReadonlySet<SocketId> = new Set();

/** Encodes a Socket.IO packet once into Engine.IO message packets with their frames. */
export function preparePacket(packet: SioPacket): OutPacket[] {
  return messagePackets(encoder.encode(packet) as RawData[]);
}

/**
 * The single-process adapter: rooms as two indexes, broadcasts to local sockets only. With
 * recovery on, its recovery store (memory by default) logs broadcasts and keeps the states of
 * dropped clients. Cross-node adapters extend it and keep its local delivery.
 */
export class MemoryAdapter implements Adapter {
  readonly rooms = new Map<Room, Set<SocketId>>();
  readonly sids = new Map<SocketId, Set<Room>>();
  readonly store: RecoveryStore | undefined;
  /**
   * A room's local sockets as an array, made at its first broadcast and dropped whenever its
   * members change: a fan-out to a stable room then does no lookups and no allocation.
   */
  readonly #members = new Map<Room, AdapterSocket[]>();

  constructor(readonly nsp: AdapterNamespace, readonly opts: AdapterOptions) {
    if (opts.recoveryWindow > 0) {
      this.store = (opts.recoveryStore ?? memoryRecoveryStore)(nsp.name, {
        window: opts.recoveryWindow,
        maxEvents: opts.maxEvents ?? RECOVERY_LIMITS.maxEvents,
        maxBytes: opts.maxBytes ?? RECOVERY_LIMITS.maxBytes,
        maxSessions: opts.maxSessions ?? RECOVERY_LIMITS.maxSessions,
      });
    }
  }

  addAll(id: SocketId, rooms: Iterable<Room>): void {
    let mine = this.sids.get(id);
    if (!mine) this.sids.set(id, mine = new Set());
    for (const room of rooms) {
      this.#members.delete(room);
      mine.add(room);
      let members = this.rooms.get(room);
      if (!members) this.rooms.set(room, members = new Set());
      members.add(id);
    }
  }

  del(id: SocketId, room: Room): void {
    this.#members.delete(room);
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
      this.#members.delete(room);
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
    this.deliverLocal(packet, opts);
  }

  /**
   * Delivers to this node's sockets. Encodes the packet at most once per kind of recipient:
   * with the recovery offset as a last argument for clients that take part in recovery (and
   * then logged), without for the others.
   */
  deliverLocal(packet: SioPacket, opts: BroadcastOptions): void {
    const recipients = this.#recipients(opts);
    const withOffset = this.store && isRecoverable(packet, opts)
      ? this.store.log(packet, opts, recipients.some((socket) => socket.pid !== undefined))
      : undefined;
    let plain: OutPacket[] | undefined;
    const volatile = opts.volatile ?? false;
    let delivered = 0;
    for (let i = 0; i < recipients.length; i++) {
      const socket = recipients[i];
      const packets = withOffset !== undefined && socket.pid !== undefined
        ? withOffset
        : (plain ??= preparePacket(packet));
      if (socket.deliver(packets, volatile)) delivered += packets.length;
    }
    if (delivered > 0) this.nsp.delivered?.(delivered);
  }

  /**
   * The local sockets a broadcast reaches, taken before any is written to (a write can end a
   * socket, and its handlers can change rooms). One room or the whole namespace without
   * exceptions, the common cases, are read straight from the index.
   */
  #recipients(opts: BroadcastOptions): readonly AdapterSocket[] {
    if (opts.except.size === 0 && opts.rooms.size === 1) {
      const room: Room = opts.rooms.values().next().value!;
      let members = this.#members.get(room);
      if (members === undefined) {
        members = this.#sockets(this.rooms.get(room) ?? NO_IDS);
        if (members.length > 0) this.#members.set(room, members);
      }
      // Never changed in place: a change of members replaces the array, so this one stays
      // the broadcast's snapshot even if a write ends a socket.
      return members;
    }
    return this.#sockets(
      opts.except.size === 0 && opts.rooms.size === 0 ? this.sids.keys() : this.socketIds(opts),
    );
  }

  #sockets(ids: Iterable<SocketId>): AdapterSocket[] {
    const sockets = this.nsp.sockets;
    const found: AdapterSocket[] = [];
    for (const id of ids) {
      const socket = sockets.get(id);
      if (socket !== undefined) found.push(socket);
    }
    return found;
  }

  broadcastWithAck(
    packet: SioPacket,
    opts: BroadcastOptions,
    _timeout: number,
    onCount: (clients: number) => void,
    onAck: (arg: unknown) => void,
  ): void {
    const id = this.nsp.nextAckId();
    let packets: OutPacket[] | undefined;
    let count = 0;
    let delivered = 0;
    for (const socket of this.#recipients(opts)) {
      if (!socket.expectAck) continue;
      count++;
      socket.expectAck(id, (args) => onAck(args[0]));
      packets ??= preparePacket({ ...packet, id });
      if (socket.deliver(packets, opts.volatile ?? false)) delivered += packets.length;
    }
    if (delivered > 0) this.nsp.delivered?.(delivered);
    onCount(count);
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

  serverSideEmit(args: unknown[]): void {
    // A single process has no other nodes to tell: an ack gets no responses at once.
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack(null, []);
  }

  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }

  allRooms(): Promise<Set<Room>> {
    return Promise.resolve(new Set(this.rooms.keys()));
  }

  // --- connection state recovery -------------------------------------------------------------

  /** What the recovery log and the kept sessions hold now (extension, for bounds and tests). */
  get recoveryStats(): RecoveryStats {
    return this.store?.stats ?? { entries: 0, bytes: 0, sessions: 0 };
  }

  position(): number | string {
    return this.store?.position() ?? 0;
  }

  persistSession(state: SessionState): void {
    this.store?.persist(state);
  }

  peekSession(
    pid: string,
    offset: unknown,
  ): SessionState | undefined | Promise<SessionState | undefined> {
    return this.store?.peek(pid, offset);
  }

  restoreSession(
    pid: string,
    offset: unknown,
  ): RestoredSession | undefined | Promise<RestoredSession | undefined> {
    return this.store?.restore(pid, offset);
  }

  dropSessions(match: (state: SessionState) => boolean): number | Promise<number> {
    return this.store?.drop(match) ?? 0;
  }

  close(): void | Promise<void> {
    this.rooms.clear();
    this.sids.clear();
    this.#members.clear();
    return this.store?.close();
  }
}

export const memoryAdapter: AdapterFactory = (nsp, opts) => new MemoryAdapter(nsp, opts);
