// `socket.handshake`, read on demand from the connection's request: a socket owns only its
// `auth`, so a connection's headers, query and times are held once whatever its namespaces.
import type { HandshakeRequest } from "./engine/session.ts";

export interface Handshake {
  headers: Record<string, string>;
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  issued: number;
  url: string;
  query: Record<string, string>;
  auth: Record<string, unknown>;
}

export class SocketHandshake implements Handshake {
  readonly #request: HandshakeRequest;

  constructor(request: HandshakeRequest, readonly auth: Record<string, unknown>) {
    this.#request = request;
  }

  get headers(): Record<string, string> {
    return this.#request.headers;
  }

  /** When the connection was made, as Date.prototype.toString() writes it (socket.io's form). */
  get time(): string {
    return new Date(this.#request.time).toString();
  }

  get address(): string {
    return this.#request.address;
  }

  get xdomain(): boolean {
    return this.#request.headers.origin !== undefined;
  }

  get secure(): boolean {
    return this.#request.secure;
  }

  get issued(): number {
    return this.#request.time;
  }

  /** The request's path and query string. */
  get url(): string {
    const url = new URL(this.#request.url);
    return url.pathname + url.search;
  }

  /** The request's query parameters; one object per connection, made on first use. */
  get query(): Record<string, string> {
    const request = this.#request;
    return request.query ??= Object.fromEntries(new URL(request.url).searchParams);
  }

  /** A plain copy (JSON, other nodes' fetchSockets). */
  toJSON(): Handshake {
    const { headers, time, address, xdomain, secure, issued, url, query, auth } = this;
    return { headers, time, address, xdomain, secure, issued, url, query, auth };
  }
}
