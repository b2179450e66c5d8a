// A client: one Engine.IO session carrying sockets for one or more namespaces. Decodes
// incoming packets and routes them; any malformed packet ends this client only.
import { Decoder, PacketType } from "socket.io-parser";
import { preparePacket, type SioPacket } from "./adapter.ts";
import type { CloseReason, EngineSession, RawData, SessionListener } from "./engine/session.ts";
import type { SocketServer } from "./server.ts";
import type { DisconnectReason, Socket } from "./socket.ts";

/**
 * Decodes text packets for every client: that is stateless, unlike a binary packet, whose
 * attachments follow in later messages; a client gets a Decoder of its own for those.
 */
const textDecoder = new Decoder() as unknown as { decodeString(data: string): SioPacket };

/** A packet type whose attachments follow: BINARY_EVENT (5) or BINARY_ACK (6). */
function startsBinary(data: string): boolean {
  const type = data.charCodeAt(0);
  return type === 53 || type === 54;
}

export class Client implements SessionListener {
  /** Its sockets, one per namespace: usually one, so an array rather than a Map. */
  readonly #sockets: Socket[] = [];
  /** Namespaces whose CONNECT is being decided (middlewares running). */
  #connecting: string[] | undefined;
  /** Only for clients that send binary packets; see textDecoder. */
  #decoder: Decoder | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly server: SocketServer, readonly session: EngineSession) {
    session.listener = this;
    this.#connectTimer = setTimeout(() => {
      if (this.#sockets.length === 0) this.session.close("forced close");
    }, server.connectTimeout);
  }

  get closed(): boolean {
    return this.session.readyState !== "open";
  }

  has(nsp: string): boolean {
    return this.#socket(nsp) !== undefined;
  }

  #socket(nsp: string): Socket | undefined {
    for (const socket of this.#sockets) if (socket.nsp.name === nsp) return socket;
    return undefined;
  }

  write(packet: SioPacket): void {
    this.session.send(preparePacket(packet));
  }

  /** A message from the session. */
  onMessage(data: RawData): void {
    try {
      if (this.#decoder === undefined && typeof data === "string" && !startsBinary(data)) {
        this.#onPacket(textDecoder.decodeString(data));
        return;
      }
      if (this.#decoder === undefined) {
        this.#decoder = new Decoder();
        this.#decoder.on("decoded", (packet: SioPacket) => this.#onPacket(packet));
      }
      this.#decoder.add(data);
    } catch {
      // Bad JSON, an unknown packet type, a reserved event name, stray binary.
      this.session.close("parse error");
    }
  }

  #onPacket(packet: SioPacket): void {
    if (packet.type === PacketType.CONNECT) return this.#connect(packet);
    const socket = this.#socket(packet.nsp);
    if (!socket) {
      // A packet for a namespace this client has not joined: the client is broken.
      this.session.close("parse error");
      return;
    }
    socket._onPacket(packet);
  }

  #connect(packet: SioPacket): void {
    const name = packet.nsp;
    const nsp = this.server._namespace(name);
    if (!nsp) {
      this.write({
        type: PacketType.CONNECT_ERROR,
        nsp: name,
        data: { message: "Invalid namespace" },
      });
      return;
    }
    // A repeated CONNECT must not run the middlewares (authentication) again.
    if (this.has(name) || this.#connecting?.includes(name)) return;
    (this.#connecting ??= []).push(name);
    nsp._add(this, (packet.data ?? {}) as Record<string, unknown>)
      .catch((err) => this.server._report(err))
      .finally(() => {
        const left = this.#connecting?.filter((n) => n !== name);
        this.#connecting = left?.length ? left : undefined;
      });
  }

  _add(socket: Socket): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.session.established();
    const i = this.#sockets.findIndex((s) => s.nsp.name === socket.nsp.name);
    if (i >= 0) this.#sockets[i] = socket;
    else this.#sockets.push(socket);
  }

  _remove(socket: Socket): void {
    const i = this.#sockets.indexOf(socket);
    if (i >= 0) this.#sockets.splice(i, 1);
  }

  /**
   * DISCONNECT every namespace, then close the connection once those packets are out. The
   * sockets end as "server namespace disconnect": a kicked client is not recovered.
   */
  disconnectAll(): void {
    for (const socket of [...this.#sockets]) socket.disconnect();
    this.session.end("forced close");
  }

  /** The session ended. */
  onClose(reason: CloseReason): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#decoder?.destroy();
    const why: DisconnectReason = reason === "forced close" ? "forced server close" : reason;
    for (const socket of [...this.#sockets]) socket._onClose(why);
  }
}
