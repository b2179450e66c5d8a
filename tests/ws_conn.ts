// A raw WebSocket for protocol tests: every frame is queued, so nothing sent before a wait is
// missed, and Engine.IO pings may be answered automatically.
import assert from "node:assert/strict";

export type Frame = string | ArrayBuffer;

/** A WebSocket whose events are buffered, so no message sent before a wait is missed. */
export class WsConn {
  readonly ws: WebSocket;
  opened = false;
  errored = false;
  readonly closed: Promise<CloseEvent>;
  #frames: Frame[] = [];
  #waiters: ((frame: Frame | undefined) => void)[] = [];
  #isClosed = false;

  /**
   * With `autoPong`, Engine.IO pings ("2") are answered with "3" and never reach the queue.
   * `init` is what `new WebSocket` takes: subprotocols, or Deno's `{ headers, protocols }`.
   */
  constructor(
    url: string,
    readonly autoPong = false,
    init?: string[] | { headers?: Record<string, string>; protocols?: string[] },
  ) {
    this.ws = new WebSocket(url, init as string[] | undefined);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("open", () => this.opened = true);
    this.ws.addEventListener("error", () => this.errored = true);
    this.ws.addEventListener("message", (event: MessageEvent<Frame>) => {
      if (this.autoPong && event.data === "2") return this.ws.send("3");
      const waiter = this.#waiters.shift();
      if (waiter) waiter(event.data);
      else this.#frames.push(event.data);
    });
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (event) => {
        this.#isClosed = true;
        for (const waiter of this.#waiters.splice(0)) waiter(undefined);
        resolve(event);
      });
    });
  }

  /** The next frame; fails if the socket closes first or nothing comes within `ms`. */
  async next(ms = 3000): Promise<Frame> {
    if (this.#frames.length > 0) return this.#frames.shift()!;
    if (this.#isClosed) throw new Error("WebSocket closed while waiting for a message");
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter: ((frame: Frame | undefined) => void) | undefined;
    try {
      const frame = await new Promise<Frame | undefined>((resolve, reject) => {
        waiter = resolve;
        this.#waiters.push(resolve);
        timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      });
      if (frame === undefined) throw new Error("WebSocket closed while waiting for a message");
      return frame;
    } finally {
      clearTimeout(timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }

  async nextText(ms?: number): Promise<string> {
    const frame = await this.next(ms);
    assert.equal(typeof frame, "string", "expected a text frame");
    return frame as string;
  }

  async nextBinary(ms?: number): Promise<Uint8Array> {
    const frame = await this.next(ms);
    assert.ok(frame instanceof ArrayBuffer, "expected a binary frame");
    return new Uint8Array(frame);
  }

  async waitOpen(): Promise<void> {
    if (this.opened) return;
    await new Promise<void>((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve(), { once: true });
      this.closed.then(() => reject(new Error("WebSocket closed before opening")));
    });
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    this.ws.send(data);
  }

  /** Resolves with the close event; fails if the server keeps the socket open for `ms`. */
  async waitClose(ms = 3000): Promise<CloseEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
