// What one realtime connection may send: a rate (token bucket) and a bound on the frames or
// events waiting or in progress. Both faces' sockets (Socket.IO events, raw frames) go through
// one, so a flood costs the server a refusal, not a queue.
import { TokenBucket } from "@/lib/rate.ts";

export interface InboundLimits {
  /** Frames (or events) per second, and the burst a quiet client may spend at once. */
  rate: number;
  burst: number;
  /** Frames waiting or in progress at most. */
  maxQueued: number;
}

export type Admission =
  | { ok: true; done(): void }
  | { ok: false; reason: "throttled" | "busy"; retryAfter: number };

export class InboundGate {
  readonly #bucket: TokenBucket;
  #inFlight = 0;

  constructor(readonly limits: InboundLimits, now: () => number = Date.now) {
    this.#bucket = new TokenBucket({ rate: limits.rate, burst: limits.burst }, now);
  }

  /** Lets one frame in, or says why not; call `done()` once it has been handled. */
  admit(): Admission {
    const wait = this.#bucket.take();
    if (wait > 0) return { ok: false, reason: "throttled", retryAfter: wait };
    if (this.#inFlight >= this.limits.maxQueued) {
      return { ok: false, reason: "busy", retryAfter: 1 };
    }
    this.#inFlight++;
    let finished = false;
    return {
      ok: true,
      done: () => {
        if (finished) return;
        finished = true;
        this.#inFlight--;
      },
    };
  }

  /** Frames admitted and not yet done. */
  get inFlight(): number {
    return this.#inFlight;
  }
}
