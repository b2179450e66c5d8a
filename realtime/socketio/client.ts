// A client: one Engine.IO session carrying sockets for one or more namespaces. Decodes
// incoming packets and routes them; any malformed packet ends this client only.
import { Decoder, PacketType } from "socket.io-parser";
import { preparePacket, type SioPacket } from "./adapter.ts";
import type { CloseReason, EngineSession } from "./engine/session.ts";
import type { SocketServer } from "./server.ts";
import type { DisconnectReason, Handshake, Socket } from "./socket.ts";

export class Client {
  readonly #sockets = new Map<string, Socket>();
  /** Namespaces whose CONNECT is being decided (middlewares running). */
  readonly #connecting = new Set<string>();
  readonly #decoder = new Decoder();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly server: SocketServer, readonly session: EngineSession) {
    this.#decoder.on("decoded", (packet: SioPacket) => this.#onPacket(packet));
    session.onMessage = (data) => {
      try {
        this.#decoder.add(data);
      } catch {
        // Bad JSON, an unknown packet type, a reserved event name, stray binary.
        this.session.close("parse error");
      }
    };
    session.onClose = (reason) => this.#onClose(reason);
    this.#connectTimer = setTimeout(() => {
      if (this.#sockets.size === 0) this.session.close("forced close");
    }, server.connectTimeout);
  }

  get closed(): boolean {
    return this.session.readyState !== "open";
  }

  has(nsp: string): boolean {
    return this.#sockets.has(nsp);
  }

  write(packet: SioPacket): void {
    this.session.send(preparePacket(packet));
  }

  #onPacket(packet: SioPacket): void {
    if (packet.type === PacketType.CONNECT) return this.#connect(packet);
    const socket = this.#sockets.get(packet.nsp);
    if (!socket) {
      // A packet for a namespace this client has not joined: the client is broken.
      this.session.close("parse error");
      return;
    }
    socket._onPacket(packet);
  }

  #connect(packet: SioPacket): void {
    const nsp = this.server._namespace(packet.nsp);
    if (!nsp) {
      this.write({
        type: PacketType.CONNECT_ERROR,
        nsp: packet.nsp,
        data: { message: "Invalid namespace" },
      });
      return;
    }
    // A repeated CONNECT must not run the middlewares (authentication) again.
    if (this.#sockets.has(packet.nsp) || this.#connecting.has(packet.nsp)) return;
    this.#connecting.add(packet.nsp);
    nsp._add(this, this.#handshake((packet.data ?? {}) as Record<string, unknown>))
      .catch((err) => this.server._report(err))
      .finally(() => this.#connecting.delete(packet.nsp));
  }

  #handshake(auth: Record<string, unknown>): Handshake {
    const req = this.session.request;
    const headers = req.headers;
    return {
      headers,
      time: req.time.toString(),
      address: req.address,
      xdomain: headers.origin !== undefined,
      secure: req.secure,
      issued: req.time.getTime(),
      url: req.url,
      query: req.query,
      auth,
    };
  }

  _add(socket: Socket): void {
    clearTimeout(this.#connectTimer);
    this.session.established();
    this.#sockets.set(socket.nsp.name, socket);
  }

  _remove(socket: Socket): void {
    if (this.#sockets.get(socket.nsp.name) === socket) this.#sockets.delete(socket.nsp.name);
  }

  /**
   * DISCONNECT every namespace, then close the connection once those packets are out. The
   * sockets end as "server namespace disconnect": a kicked client is not recovered.
   */
  disconnectAll(): void {
    for (const socket of [...this.#sockets.values()]) socket.disconnect();
    this.session.end("forced close");
  }

  #onClose(reason: CloseReason): void {
    clearTimeout(this.#connectTimer);
    this.#decoder.destroy();
    const why: DisconnectReason = reason === "forced close" ? "forced server close" : reason;
    for (const socket of [...this.#sockets.values()]) socket._onClose(why);
  }
}
