// One raw WebSocket connection: a bounded outgoing side (a client that stops reading is cut) and
// a checked, ordered, bounded incoming side (size limit, rate limit, JSON + schema, a queue
// handled one frame at a time). Nothing a client sends reaches a face's handler unchecked.
import type { z } from "zod";
import type { Principal, User } from "@/lib/records.ts";
import { InboundGate, type InboundLimits } from "../inbound.ts";
import { CLOSE } from "./close_codes.ts";

/** Why a frame was not handled, for the face to answer in its own words. */
export type Refusal =
  | { reason: "malformed" }
  | { reason: "invalid"; issues: readonly z.core.$ZodIssue[] }
  | { reason: "throttled"; retryAfter: number }
  | { reason: "busy"; retryAfter: number }
  /** The handler threw (a core refusal, or a failure), or the check itself did (a failure). */
  | { reason: "refused"; error: unknown };

/**
 * A backlog over the bound is forgiven this long (a burst a reading client is draining); past
 * it, or past HARD_FACTOR times the bound at any moment, the client is cut.
 */
export const SLOW_GRACE_MS = 3000;
export const HARD_FACTOR = 4;

export interface ConnectionLimits {
  /** Largest frame in bytes; a larger one closes the connection with 1009. */
  maxFrameBytes: number;
  /**
   * Bytes a client may leave unread: over it for SLOW_GRACE_MS, or over HARD_FACTOR times it
   * at once, and the client is cut (1013).
   */
  maxBufferedBytes: number;
  /** Frames per second, burst, and frames waiting or in progress at most. */
  inbound: InboundLimits;
}

export interface ConnectionHooks<F> {
  schema: z.ZodType<F>;
  handle(frame: F): Promise<void> | void;
  refuse(refusal: Refusal): void;
  /** Called once, whatever ended the connection. */
  closed(): void;
  /** Called once when the outgoing bound was passed. */
  slow(): void;
  /** Called for each frame written (metrics). */
  sent?(): void;
}

let nextId = 0;

export class WsConnection<D = unknown> {
  /** Unique in this process, and with the node tag (hub events) across nodes. */
  readonly id = `${(nextId++).toString(36)}.${crypto.randomUUID().slice(0, 8)}`;
  readonly user: User;
  readonly sessionId: string;
  #open = false;
  #ended = false;
  #unchecked = 0;
  /** When the backlog was first seen over the bound, while it stays there. */
  #overSince: number | undefined;
  #queue: { frame: unknown; done(): void }[] = [];
  #draining = false;
  readonly #gate: InboundGate;
  #hooks!: ConnectionHooks<unknown>;
  readonly #topics: Set<string>;

  constructor(
    readonly ws: WebSocket,
    principal: Principal,
    /** The face's own facts about this connection (its room, its peer, ...). */
    readonly data: D,
    /** Hub topics it listens to (its user topic is always one). */
    topics: readonly string[],
    readonly limits: ConnectionLimits,
  ) {
    this.user = principal.user;
    this.sessionId = principal.sessionId;
    this.#topics = new Set(topics);
    this.#gate = new InboundGate(limits.inbound);
  }

  /** Hub topics it listens to now (its user topic is always one). */
  get topics(): readonly string[] {
    return [...this.#topics];
  }

  /** True when it listens to `topic`. */
  listensTo(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** For the registry: starts or stops listening; true when that changed anything. */
  _addTopic(topic: string): boolean {
    if (this.#topics.has(topic)) return false;
    this.#topics.add(topic);
    return true;
  }

  _removeTopic(topic: string): boolean {
    return this.#topics.delete(topic);
  }

  /**
   * Wires the socket's events; `onOpen` runs once it is open (at once when it already is: a
   * socket that was initialised by its first frame). `backlog` holds frames that arrived before
   * this connection existed; they are handled first, in order, under the same checks.
   */
  _start<F>(hooks: ConnectionHooks<F>, onOpen: () => void, backlog: unknown[] = []): void {
    this.#hooks = hooks as ConnectionHooks<unknown>;
    const ws = this.ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      if (this.#ended) return;
      this.#open = true;
      onOpen();
    };
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onclose = () => this.#end();
    ws.onerror = () => this.#end();
    if (ws.readyState === WebSocket.OPEN) {
      this.#open = true;
      onOpen();
      for (const data of backlog) this.#receive(data);
    }
  }

  /** Open and not cut: frames sent now are written. */
  get open(): boolean {
    return this.#open && !this.#ended;
  }

  /** Writes one text frame. A client that lets too much pile up is cut (1013). */
  send(frame: string): boolean {
    if (!this.open || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame);
    this.#hooks.sent?.();
    // Asking for the backlog crosses into the runtime; once per eighth of the bound will do.
    this.#unchecked += frame.length;
    if (this.#unchecked < this.limits.maxBufferedBytes / 8) return true;
    this.#unchecked = 0;
    if (!this.#tooSlow(this.ws.bufferedAmount)) return true;
    this.#hooks.slow();
    this.close(CLOSE.tryAgainLater, "slow consumer");
    return false;
  }

  #tooSlow(backlog: number): boolean {
    const bound = this.limits.maxBufferedBytes;
    if (backlog <= bound) {
      this.#overSince = undefined;
      return false;
    }
    if (backlog > bound * HARD_FACTOR) return true;
    const now = Date.now();
    this.#overSince ??= now;
    return now - this.#overSince > SLOW_GRACE_MS;
  }

  /** Ends the connection; the registry forgets it at once, whatever the socket does next. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      try {
        this.ws.close(code, reason);
      } catch {
        this.ws.close();
      }
    }
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const { done } of this.#queue.splice(0)) done();
    this.#hooks.closed();
  }

  #receive(data: unknown): void {
    if (this.#ended) return;
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) {
      return this.#hooks.refuse({ reason: "malformed" });
    }
    if (byteLength(data, this.limits.maxFrameBytes) > this.limits.maxFrameBytes) {
      return this.close(CLOSE.tooBig, "message too big");
    }
    // Admitted before any parsing, so a flood costs the server as little as possible.
    const admission = this.#gate.admit();
    if (!admission.ok) return this.#hooks.refuse(admission);
    let parsed: unknown;
    try {
      if (typeof data !== "string") throw new TypeError("binary frame");
      parsed = JSON.parse(data);
    } catch {
      admission.done();
      return this.#hooks.refuse({ reason: "malformed" });
    }
    let checked;
    try {
      checked = this.#hooks.schema.safeParse(parsed);
    } catch (error) {
      // A check that throws is a server bug: refused and logged as one, never thrown out of
      // the socket's event handler, where it would end the process.
      admission.done();
      return this.#hooks.refuse({ reason: "refused", error });
    }
    if (!checked.success) {
      admission.done();
      return this.#hooks.refuse({ reason: "invalid", issues: checked.error.issues });
    }
    this.#queue.push({ frame: checked.data, done: admission.done });
    if (!this.#draining) this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const { frame, done } = this.#queue.shift()!;
        try {
          await this.#hooks.handle(frame);
        } catch (error) {
          if (!this.#ended) this.#hooks.refuse({ reason: "refused", error });
        } finally {
          done();
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** A frame's size in bytes; a text frame is only encoded when its length leaves it unclear. */
export function byteLength(data: string | ArrayBuffer, limit: number): number {
  if (typeof data !== "string") return data.byteLength;
  // UTF-8 takes 1 to 3 bytes per UTF-16 code unit.
  if (data.length > limit || data.length * 3 <= limit) return data.length;
  return new TextEncoder().encode(data).byteLength;
}
