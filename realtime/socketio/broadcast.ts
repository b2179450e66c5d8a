// A broadcast target: rooms to reach, rooms to leave out, flags. Immutable: each call returns
// a new operator, so `io.to("a").except("b")` never changes `io`.
import { PacketType } from "socket.io-parser";
import type { Adapter, BroadcastOptions, RemoteSocketData, Room } from "./adapter.ts";

type AckCallback = (err: Error | null, responses: unknown[]) => void;

/** What a broadcast with acks gets when some recipients did not answer in time. */
export class TimeoutError extends Error {
  constructor() {
    super("operation has timed out");
    this.name = "TimeoutError";
  }
}

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
    private readonly ackTimeout?: number,
  ) {}

  to(room: Room | Room[]): BroadcastOperator {
    const rooms = new Set(this.rooms);
    for (const r of Array.isArray(room) ? room : [room]) rooms.add(r);
    return new BroadcastOperator(
      this.nsp,
      rooms,
      this.exceptRooms,
      this.isVolatile,
      this.ackTimeout,
    );
  }

  in(room: Room | Room[]): BroadcastOperator {
    return this.to(room);
  }

  except(room: Room | Room[]): BroadcastOperator {
    const except = new Set(this.exceptRooms);
    for (const r of Array.isArray(room) ? room : [room]) except.add(r);
    return new BroadcastOperator(this.nsp, this.rooms, except, this.isVolatile, this.ackTimeout);
  }

  /** Dropped for clients that cannot take it right now, instead of queued. */
  get volatile(): BroadcastOperator {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, true, this.ackTimeout);
  }

  /** Every recipient (on every node) must ack within `ms`; see emit. */
  timeout(ms: number): BroadcastOperator {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, this.isVolatile, ms);
  }

  #opts(): BroadcastOptions {
    return { rooms: this.rooms, except: this.exceptRooms, volatile: this.isVolatile };
  }

  /**
   * Sends an event to every matching socket. Encoded once, whatever the number of sockets. After
   * `timeout(ms)`, a function as last argument gets `(err, responses)`: every recipient's ack,
   * on every node, or an error when some did not answer in time.
   */
  emit(event: string, ...args: unknown[]): true {
    if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
    const last = args[args.length - 1];
    if (typeof last === "function") {
      if (this.ackTimeout === undefined) {
        throw new Error("Callbacks need a timeout when broadcasting: io.timeout(ms).emit(...)");
      }
      this.#emitWithAcks(event, args.slice(0, -1), last as AckCallback, this.ackTimeout);
      return true;
    }
    this.nsp.adapter.broadcast(
      { type: PacketType.EVENT, nsp: this.nsp.name, data: [event, ...args] },
      this.#opts(),
    );
    return true;
  }

  /** emit with acks as a promise: every recipient's first ack argument. */
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.emit(event, ...args, (err: Error | null, responses: unknown[]) => {
        if (err) reject(err);
        else resolve(responses);
      });
    });
  }

  /** Done when every node said how many it sent to and that many acks are in, or at the timeout. */
  #emitWithAcks(event: string, args: unknown[], ack: AckCallback, timeout: number): void {
    const responses: unknown[] = [];
    let expectedNodes = -1;
    let nodes = 0;
    let expectedAcks = 0;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ack(err, responses);
    };
    const timer = setTimeout(() => finish(new TimeoutError()), timeout);
    const check = () => {
      if (expectedNodes === nodes && responses.length === expectedAcks) finish(null);
    };
    this.nsp.adapter.broadcastWithAck(
      { type: PacketType.EVENT, nsp: this.nsp.name, data: [event, ...args] },
      this.#opts(),
      timeout,
      (clients) => {
        expectedAcks += clients;
        nodes++;
        check();
      },
      (arg) => {
        responses.push(arg);
        check();
      },
    );
    this.nsp.adapter.serverCount().then((count) => {
      expectedNodes = count;
      check();
    }, (err) => finish(err));
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
