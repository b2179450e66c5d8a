// A broadcast target: rooms to reach, rooms to leave out, flags. Immutable: each call returns
// a new operator, so `io.to("a").except("b")` never changes `io`.
import { PacketType } from "socket.io-parser";
import type { Adapter, BroadcastOptions, RemoteSocketData, Room } from "./adapter.ts";

export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/** What fetchSockets() returns for each socket: enough to inspect and act on it. */
export interface SocketInfo {
  readonly id: string;
  readonly handshake: unknown;
  readonly rooms: ReadonlySet<Room>;
  readonly data: unknown;
  emit(event: string, ...args: unknown[]): boolean;
  join(rooms: Room | Room[]): void;
  leave(room: Room): void;
  disconnect(close?: boolean): unknown;
}

export interface SocketSource {
  readonly name: string;
  readonly adapter: Adapter;
  socketsById(ids: Iterable<string>): SocketInfo[];
  remoteSocket(data: RemoteSocketData): SocketInfo;
}

export class BroadcastOperator {
  constructor(
    private readonly nsp: SocketSource,
    private readonly rooms: ReadonlySet<Room> = new Set(),
    private readonly exceptRooms: ReadonlySet<Room> = new Set(),
    private readonly isVolatile = false,
  ) {}

  to(room: Room | Room[]): BroadcastOperator {
    const rooms = new Set(this.rooms);
    for (const r of Array.isArray(room) ? room : [room]) rooms.add(r);
    return new BroadcastOperator(this.nsp, rooms, this.exceptRooms, this.isVolatile);
  }

  in(room: Room | Room[]): BroadcastOperator {
    return this.to(room);
  }

  except(room: Room | Room[]): BroadcastOperator {
    const except = new Set(this.exceptRooms);
    for (const r of Array.isArray(room) ? room : [room]) except.add(r);
    return new BroadcastOperator(this.nsp, this.rooms, except, this.isVolatile);
  }

  /** Dropped for clients that cannot take it right now, instead of queued. */
  get volatile(): BroadcastOperator {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, true);
  }

  #opts(): BroadcastOptions {
    return { rooms: this.rooms, except: this.exceptRooms, volatile: this.isVolatile };
  }

  /** Sends an event to every matching socket. Encoded once, whatever the number of sockets. */
  emit(event: string, ...args: unknown[]): true {
    if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
    if (typeof args[args.length - 1] === "function") {
      throw new Error("Callbacks are not supported when broadcasting");
    }
    this.nsp.adapter.broadcast(
      { type: PacketType.EVENT, nsp: this.nsp.name, data: [event, ...args] },
      this.#opts(),
    );
    return true;
  }

  /** The matching sockets of every node: this node's first, then the others' (RemoteSocket). */
  async fetchSockets(): Promise<SocketInfo[]> {
    const opts = this.#opts();
    const local = this.nsp.socketsById(this.nsp.adapter.socketIds(opts));
    if (!this.nsp.adapter.remoteSockets) return local;
    const remote = await this.nsp.adapter.remoteSockets(opts);
    return [...local, ...remote.map((data) => this.nsp.remoteSocket(data))];
  }

  socketsJoin(room: Room | Room[]): void {
    this.nsp.adapter.addSockets(this.#opts(), Array.isArray(room) ? room : [room]);
  }

  socketsLeave(room: Room | Room[]): void {
    this.nsp.adapter.delSockets(this.#opts(), Array.isArray(room) ? room : [room]);
  }

  disconnectSockets(close = false): void {
    this.nsp.adapter.disconnectSockets(this.#opts(), close);
  }
}
