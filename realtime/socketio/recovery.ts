// Connection state recovery behind one interface: where the broadcasts a dropped client may ask
// for again are logged, and where its state waits for it. The memory store keeps both in this
// process; another (Redis) lets a client that dropped from one node resume on another.
import { PacketType } from "socket.io-parser";
import type { BroadcastOptions, Room, SioPacket, SocketId } from "./adapter.ts";
import type { OutPacket } from "./engine/session.ts";

/** A disconnected socket's state, kept for connection state recovery. */
export interface SessionState {
  sid: SocketId;
  pid: string;
  rooms: Room[];
  data: unknown;
  /** The log position when the socket (last) connected: where replay starts without offset. */
  since: number | string;
}

export interface RestoredSession extends SessionState {
  /** Broadcasts the socket missed, oldest first, ready to write. */
  missed: OutPacket[][];
}

/** How much the recovery log and the kept sessions hold right now. */
export interface RecoveryStats {
  /** Broadcasts in the log. */
  entries: number;
  /** Their encoded size: the frames as written. */
  bytes: number;
  /** Dropped clients' states waiting for them to come back. */
  sessions: number;
}

/** The bounds of one namespace's recovery memory. */
export interface RecoveryLimits {
  /** How long a dropped client's state and the broadcasts it missed are kept (ms). */
  window: number;
  maxEvents: number;
  maxBytes: number;
  maxSessions: number;
}

type Maybe<T> = T | Promise<T>;

export interface RecoveryStore {
  /**
   * Logs a broadcast when someone could ask for it again (`recovering`: a recipient takes part
   * in recovery) and returns its frames with the offset as a last argument; undefined when it
   * is not logged.
   */
  log(packet: SioPacket, opts: BroadcastOptions, recovering: boolean): OutPacket[] | undefined;
  /** The current log position, stored with each connecting socket. */
  position(): number | string;
  persist(state: SessionState): void;
  /** The state restore would give, without taking it. */
  peek(pid: string, offset: unknown): Maybe<SessionState | undefined>;
  /** Takes the state and the broadcasts missed since `offset`; a pid is restored once. */
  restore(pid: string, offset: unknown): Maybe<RestoredSession | undefined>;
  /** Forgets every kept state that `match` accepts; returns how many went. */
  drop(match: (state: SessionState) => boolean): Maybe<number>;
  readonly stats?: RecoveryStats;
  close(): void | Promise<void>;
}

/** Makes the store of one namespace (by name) with its bounds. */
export type RecoveryStoreFactory = (nsp: string, limits: RecoveryLimits) => RecoveryStore;

/** Only plain events without ack and not volatile are logged (as socket.io does). */
export function isRecoverable(packet: SioPacket, opts: BroadcastOptions): boolean {
  return packet.type === PacketType.EVENT && packet.id === undefined && !opts.volatile;
}
