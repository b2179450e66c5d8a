// A namespace: its sockets, its middlewares, its adapter, and broadcasts within it.
import { PacketType } from "socket.io-parser";
import type { Adapter, AdapterNamespace, RemoteSocketData, Room } from "./adapter.ts";
import { BroadcastOperator, RESERVED_EVENTS, type SocketInfo } from "./broadcast.ts";
import { RemoteSocket } from "./remote_socket.ts";
import type { Client } from "./client.ts";
import type { SocketServer } from "./server.ts";
import { SocketHandshake } from "./handshake.ts";
import { type Listener, Socket } from "./socket.ts";

/** An error a middleware passes to next(): `message` and `data` reach the client. */
export interface ConnectError extends Error {
  data?: unknown;
}

export type Middleware = (
  socket: Socket,
  next: (err?: ConnectError) => void,
) => unknown;

export class Namespace implements AdapterNamespace {
  readonly sockets = new Map<string, Socket>();
  readonly adapter: Adapter;
  #middlewares: Middleware[] = [];
  #ackIds = 0;
  #listeners = new Map<string, Listener[]>();

  constructor(readonly server: SocketServer, readonly name: string) {
    const recovery = server.recovery;
    this.adapter = server.adapterFactory(this, {
      recoveryWindow: recovery?.maxDisconnectionDuration ?? 0,
      maxEvents: recovery?.maxEvents,
      maxBytes: recovery?.maxBytes,
      maxSessions: recovery?.maxSessions,
      recoveryStore: recovery?.store,
    });
  }

  /** Runs before each connection; next(err) refuses it with CONNECT_ERROR. */
  use(middleware: Middleware): this {
    this.#middlewares.push(middleware);
    return this;
  }

  /** `"connection"` gets each new socket; other names get serverSideEmit events. */
  on(event: "connection", listener: (socket: Socket) => unknown): this;
  on(event: string, listener: Listener): this;
  on(event: string, listener: Listener): this {
    const list = this.#listeners.get(event);
    if (list) list.push(listener);
    else this.#listeners.set(event, [listener]);
    return this;
  }

  off(event: string, listener?: Listener): this {
    if (!listener) this.#listeners.delete(event);
    else {this.#listeners.set(
        event,
        (this.#listeners.get(event) ?? []).filter((l) => l !== listener),
      );}
    return this;
  }

  #emitLocal(event: string, args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        const result = listener(...args);
        if (result instanceof Promise) result.catch((err) => this.server._report(err));
      } catch (err) {
        this.server._report(err);
      }
    }
  }

  // --- broadcasting --------------------------------------------------------------------------

  #all(): BroadcastOperator {
    return new BroadcastOperator(this);
  }

  to(room: Room | Room[]): BroadcastOperator {
    return this.#all().to(room);
  }

  in(room: Room | Room[]): BroadcastOperator {
    return this.#all().to(room);
  }

  except(room: Room | Room[]): BroadcastOperator {
    return this.#all().except(room);
  }

  get volatile(): BroadcastOperator {
    return this.#all().volatile;
  }

  emit(event: string, ...args: unknown[]): true {
    return this.#all().emit(event, ...args);
  }

  fetchSockets(): Promise<SocketInfo[]> {
    return this.#all().fetchSockets();
  }

  socketsJoin(room: Room | Room[]): void {
    this.#all().socketsJoin(room);
  }

  socketsLeave(room: Room | Room[]): void {
    this.#all().socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.#all().disconnectSockets(close);
  }

  /**
   * Sends an event to this namespace on the other nodes (none with the memory adapter). A
   * function as last argument gets `(err, responses)`, one response per other node.
   */
  serverSideEmit(event: string, ...args: unknown[]): true {
    if (RESERVED_EVENTS.has(event) || event === "connection") {
      throw new Error(`"${event}" is a reserved event name`);
    }
    this.adapter.serverSideEmit([event, ...args]);
    return true;
  }

  /** serverSideEmit with an ack: resolves with every other node's response. */
  serverSideEmitWithAck(event: string, ...args: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.serverSideEmit(
        event,
        ...args,
        (err: Error | null, responses: unknown[]) => err ? reject(err) : resolve(responses),
      );
    });
  }

  nextAckId(): number {
    return this.#ackIds++;
  }

  delivered(packets: number): void {
    this.server.onDelivered(packets);
  }

  /** Broadcasts whose every recipient must ack within `ms`: `emit(..., (err, responses))`. */
  timeout(ms: number): BroadcastOperator {
    return this.#all().timeout(ms);
  }

  onServerSideEmit(args: unknown[]): void {
    const [event, ...rest] = args as [string, ...unknown[]];
    if (event !== "connection") this.#emitLocal(event, rest);
  }

  /** A socket of another node, as fetchSockets shows it: acting on it goes through the adapter. */
  remoteSocket(data: RemoteSocketData): SocketInfo {
    return new RemoteSocket(this, data);
  }

  socketsById(ids: Iterable<string>): SocketInfo[] {
    const found: SocketInfo[] = [];
    for (const id of ids) {
      const socket = this.sockets.get(id);
      if (socket) found.push(socket);
    }
    return found;
  }

  // --- connecting ----------------------------------------------------------------------------

  /**
   * A client's CONNECT for this namespace: recover or run middlewares, then connect. With
   * `skipMiddlewares: false` the middlewares see the state asked for (`socket.recovered`,
   * `socket.data`) and may refuse the connection or turn the state down (`socket.startFresh()`);
   * the state is taken, with what was missed up to now, only once they have passed. `given`:
   * the CONNECT packet's auth.
   */
  async _add(client: Client, given: Record<string, unknown>): Promise<void> {
    const request = client.session.request;
    const { pid, offset, ...auth } = given;
    const recovery = this.server.recovery;
    const recovers = recovery !== undefined &&
      recovery.optIn(new SocketHandshake(request, given));
    const previous = recovers && typeof pid === "string"
      ? await this.adapter.peekSession(pid, offset)
      : undefined;
    const socket = new Socket(this, client, new SocketHandshake(request, auth), recovers, previous);
    if (!previous || !recovery?.skipMiddlewares) {
      const refusal = await this.#runMiddlewares(socket);
      if (refusal) {
        client.write({
          type: PacketType.CONNECT_ERROR,
          nsp: this.name,
          data: refusal.data === undefined
            ? { message: refusal.message }
            : { message: refusal.message, data: refusal.data },
        });
        return;
      }
    }
    if (client.closed || client.has(this.name)) return;
    const restored = socket.recovered
      ? await this.adapter.restoreSession(socket.pid!, offset)
      : undefined;
    // The client may have gone while a shared store answered.
    if (client.closed || client.has(this.name)) return;
    if (!restored) socket._renew();
    this.sockets.set(socket.id, socket);
    client._add(socket);
    socket._connect(restored);
    this.#emitLocal("connection", [socket]);
  }

  async #runMiddlewares(socket: Socket): Promise<ConnectError | undefined> {
    for (const middleware of this.#middlewares) {
      const refusal = await new Promise<ConnectError | undefined>((resolve) => {
        try {
          const result = middleware(socket, (err) => resolve(err ?? undefined));
          if (result instanceof Promise) result.catch((err) => resolve(toConnectError(err)));
        } catch (err) {
          resolve(toConnectError(err));
        }
      });
      if (refusal) return refusal;
    }
    return undefined;
  }

  _remove(socket: Socket): void {
    this.sockets.delete(socket.id);
  }
}

function toConnectError(err: unknown): ConnectError {
  return err instanceof Error ? err : new Error(String(err));
}
