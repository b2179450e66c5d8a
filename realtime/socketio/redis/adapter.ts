// The Redis adapter: this node's rooms and sockets as the memory adapter keeps them, and every
// broadcast and cluster-wide action also published on Redis in the official adapter's format,
// so that other nodes (ours or socket.io's on Node with @socket.io/redis-adapter, and the
// @socket.io/redis-emitter) act on their own sockets.
import { Buffer } from "node:buffer";
import type {
  AdapterFactory,
  AdapterNamespace,
  AdapterOptions,
  BroadcastOptions,
  RemoteSocketData,
  Room,
  SioPacket,
} from "../adapter.ts";
import { MemoryAdapter } from "../adapter.ts";
import { AckRelay } from "./acks.ts";
import { answerRequest } from "./answer.ts";
import { type RedisClient, sharedClients } from "./clients.ts";
import { Pending } from "./pending.ts";
import {
  type Channels,
  channelsOf,
  decodeBroadcast,
  decodeMessage,
  encode,
  fromWire,
  json,
  RequestType,
  toWire,
} from "./wire.ts";

export interface RedisAdapterOptions {
  /** redis://host:port/db */
  url: string;
  /** The channels' prefix; the official adapter's default. */
  key?: string;
  /** How long fetchSockets, allRooms and serverSideEmit acks wait for the other nodes (ms). */
  requestsTimeout?: number;
  /**
   * Answer requests on the asking node's own response channel (`<key>-response#<nsp>#<uid>#`)
   * rather than the shared one; every v8 node listens on both. Default false, as the official.
   */
  publishOnSpecificResponseChannel?: boolean;
  /** Where Redis connection errors go. Default: console.error, once per outage. */
  onError?: (err: unknown) => void;
}

/** Reports an outage once, not once per reconnection attempt. */
function onceWhileDown(report: (err: unknown) => void) {
  let down = false;
  return {
    error(err: unknown) {
      if (!down) report(err);
      down = true;
    },
    ready() {
      down = false;
    },
  };
}

/** An adapter factory for `new SocketServer({ adapter: redisAdapter({ url }) })`. */
export function redisAdapter(options: RedisAdapterOptions): AdapterFactory {
  const outage = onceWhileDown(
    options.onError ?? ((err) => console.error("socket.io redis adapter:", err)),
  );
  const clients = sharedClients(options.url, outage.error, outage.ready);
  return (nsp, opts) => {
    clients.acquire();
    return new RedisAdapter(nsp, opts, options, clients.pub(), clients.sub(), clients.release);
  };
}

export class RedisAdapter extends MemoryAdapter {
  readonly uid = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  readonly channels: Channels;
  readonly requestsTimeout: number;
  readonly #specific: boolean;
  readonly #pending: Pending;
  /** Our broadcasts with acks waiting for the other nodes' counts and acks. */
  readonly #acks = new AckRelay();
  readonly #onBroadcast = (msg: Uint8Array, channel: Uint8Array) => this.#received(msg, channel);
  readonly #onRequest = (msg: Uint8Array, channel: Uint8Array) => this.#request(msg, channel);
  readonly #subscribed: Promise<unknown>;

  constructor(
    nsp: AdapterNamespace,
    opts: AdapterOptions,
    options: RedisAdapterOptions,
    readonly pub: RedisClient,
    readonly sub: RedisClient,
    readonly release: () => Promise<void>,
  ) {
    super(nsp, opts);
    this.channels = channelsOf(options.key ?? "socket.io", nsp.name, this.uid);
    this.requestsTimeout = options.requestsTimeout ?? 5000;
    this.#specific = options.publishOnSpecificResponseChannel ?? false;
    this.#pending = new Pending(this.requestsTimeout);
    const { broadcast, request, response, ownResponse } = this.channels;
    // Buffers in (the last argument), as the official adapter: packets may carry binary.
    this.#subscribed = Promise.all([
      this.sub.pSubscribe(`${broadcast}*`, this.#onBroadcast as never, true),
      this.sub.subscribe([request, response, ownResponse], this.#onRequest as never, true),
    ]).catch(() => {/* the client re-subscribes once Redis is back */});
  }

  /** Resolves once this node listens to its channels (tests wait for it). */
  ready(): Promise<unknown> {
    return this.#subscribed;
  }

  publish(channel: string, message: string | Uint8Array): void {
    // Never awaited: a Redis that is away must not hold a socket loop; the client queues it.
    const body = typeof message === "string" || Buffer.isBuffer(message)
      ? message
      : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    this.pub.publish(channel, body as unknown as string).catch(() => {});
  }

  // --- broadcasts ----------------------------------------------------------------------------

  override broadcast(packet: SioPacket, opts: BroadcastOptions): void {
    if (opts.local) return this.deliverLocal(packet, opts);
    const message = encode([this.uid, { ...packet, nsp: this.nsp.name }, toWire(opts)]);
    const { broadcast } = this.channels;
    const channel = opts.rooms.size === 1 ? `${broadcast}${[...opts.rooms][0]}#` : broadcast;
    this.publish(channel, message);
    this.deliverLocal(packet, opts);
  }

  /**
   * Published as a BROADCAST request (msgpack: it carries the packet): each other node sends
   * to its sockets, answers how many, then relays each ack.
   */
  override broadcastWithAck(
    packet: SioPacket,
    opts: BroadcastOptions,
    timeout: number,
    onCount: (clients: number) => void,
    onAck: (arg: unknown) => void,
  ): void {
    const requestId = this.#acks.track(timeout, onCount, onAck);
    this.publish(
      this.channels.request,
      encode({
        uid: this.uid,
        requestId,
        type: RequestType.BROADCAST,
        packet: { ...packet, nsp: this.nsp.name },
        opts: toWire(opts, timeout),
      }),
    );
    super.broadcastWithAck(packet, opts, timeout, onCount, onAck);
  }

  /** This node's part of another node's broadcast with acks (see answer.ts). */
  localBroadcastWithAck(
    packet: SioPacket,
    opts: BroadcastOptions,
    timeout: number,
    onCount: (clients: number) => void,
    onAck: (arg: unknown) => void,
  ): void {
    super.broadcastWithAck(packet, opts, timeout, onCount, onAck);
  }

  /** A broadcast from another node (or the emitter): delivered to this node's sockets. */
  #received(msg: Uint8Array, channelBytes: Uint8Array): void {
    const channel = new TextDecoder().decode(channelBytes);
    const { broadcast } = this.channels;
    if (!channel.startsWith(broadcast)) return;
    const room = channel.slice(broadcast.length, -1);
    // A room nobody is in here: nothing to do, unless a dropped client may ask for it again.
    if (room !== "" && !this.rooms.has(room) && !this.store) return;
    const decoded = decodeBroadcast(msg);
    if (!decoded) return;
    const [uid, packet, opts] = decoded;
    if (uid === this.uid) return;
    const nsp = packet.nsp === undefined ? "/" : packet.nsp;
    if (nsp !== this.nsp.name || !Array.isArray(packet.data)) return;
    this.deliverLocal(
      { type: Number(packet.type), nsp, data: packet.data, id: packet.id as number | undefined },
      fromWire(opts),
    );
  }

  // --- requests to the other nodes -----------------------------------------------------------

  #publishRequest(body: Record<string, unknown>): void {
    this.publish(this.channels.request, json({ uid: this.uid, ...body }));
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.addSockets(opts, rooms);
    this.#publishRequest({ type: RequestType.REMOTE_JOIN, opts: toWire(opts), rooms });
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.delSockets(opts, rooms);
    this.#publishRequest({ type: RequestType.REMOTE_LEAVE, opts: toWire(opts), rooms });
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    super.disconnectSockets(opts, close);
    this.#publishRequest({ type: RequestType.REMOTE_DISCONNECT, opts: toWire(opts), close });
  }

  /** Nodes serving this namespace: the subscribers of its request channel. */
  override async serverCount(): Promise<number> {
    // Bounded: with Redis away the command would wait in the client's queue until it is back.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("redis did not answer")), this.requestsTimeout);
    });
    try {
      const reply = await Promise.race([
        this.pub.sendCommand(["PUBSUB", "NUMSUB", this.channels.request]),
        late,
      ]);
      return Number((reply as unknown as unknown[])[1] ?? 0);
    } finally {
      clearTimeout(timer);
    }
  }

  async remoteSockets(opts: BroadcastOptions): Promise<RemoteSocketData[]> {
    const others = (await this.serverCount()) - 1;
    if (others <= 0) return [];
    const { id, done } = this.#pending.collect<RemoteSocketData>(others, "fetchSockets");
    this.#publishRequest({
      type: RequestType.REMOTE_FETCH,
      requestId: id,
      opts: { rooms: [...opts.rooms], except: [...opts.except] },
    });
    return await done;
  }

  override async allRooms(): Promise<Set<Room>> {
    const rooms = new Set(this.rooms.keys());
    const others = (await this.serverCount()) - 1;
    if (others <= 0) return rooms;
    const { id, done } = this.#pending.collect<Room>(others, "allRooms");
    this.#publishRequest({ type: RequestType.ALL_ROOMS, requestId: id });
    for (const room of await done) rooms.add(room);
    return rooms;
  }

  override serverSideEmit(args: unknown[]): void {
    const ack = args[args.length - 1];
    if (typeof ack !== "function") {
      this.#publishRequest({ type: RequestType.SERVER_SIDE_EMIT, data: args });
      return;
    }
    const data = args.slice(0, -1);
    this.serverCount().then((count) => {
      const others = count - 1;
      if (others <= 0) return ack(null, []);
      const { id, done } = this.#pending.collect<unknown>(others, "serverSideEmit");
      this.#publishRequest({ type: RequestType.SERVER_SIDE_EMIT, requestId: id, data });
      done.then((responses) => ack(null, responses), (err) => ack(err, err.responses ?? []));
    }, (err) => ack(err, []));
  }

  // --- requests from the other nodes ---------------------------------------------------------

  localAddSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.addSockets(opts, rooms);
  }

  localDelSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.delSockets(opts, rooms);
  }

  localDisconnectSockets(opts: BroadcastOptions, close: boolean): void {
    super.disconnectSockets(opts, close);
  }

  #request(msg: Uint8Array, channelBytes: Uint8Array): void {
    const channel = new TextDecoder().decode(channelBytes);
    const message = decodeMessage(msg);
    if (!message) return;
    if (channel.startsWith(this.channels.response)) {
      if (!this.#acks.answer(message)) this.#pending.answer(message);
      return;
    }
    if (channel !== this.channels.request) return;
    // Our own requests come back too; acting on them here would act twice.
    if (message.uid === this.uid) return;
    answerRequest(this, message, (response: string | Uint8Array) => {
      const to = this.#specific && typeof message.uid === "string"
        ? `${this.channels.response}${message.uid}#`
        : this.channels.response;
      this.publish(to, response);
    });
  }

  override async close(): Promise<void> {
    this.#pending.close();
    this.#acks.close();
    const { broadcast, request, response, ownResponse } = this.channels;
    try {
      await this.#subscribed;
      await this.sub.pUnsubscribe(`${broadcast}*`, this.#onBroadcast as never, true);
      for (const channel of [request, response, ownResponse]) {
        await this.sub.unsubscribe(channel, this.#onRequest as never, true);
      }
    } catch {
      // Redis away: the connection closes below anyway.
    }
    await super.close();
    await this.release();
  }
}
