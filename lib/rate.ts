// Rate limits as token buckets: `rate` tokens come back each second, at most `burst` are saved.
// A single bucket serves one connection; keyed buckets serve limits shared by all of a user's
// connections (and, behind the same interface, by all nodes once a shared store backs it).
import { RateLimited } from "./errors.ts";

export interface BucketSettings {
  /** Tokens returned per second. */
  rate: number;
  /** Most tokens saved up: the burst a quiet client may spend at once. */
  burst: number;
}

/** One bucket. `take()` answers 0 when allowed, else the seconds until it would be. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(readonly settings: BucketSettings, readonly now: () => number = Date.now) {
    this.#tokens = settings.burst;
    this.#at = now();
  }

  take(cost = 1): number {
    const at = this.now();
    const { rate, burst } = this.settings;
    this.#tokens = Math.min(burst, this.#tokens + ((at - this.#at) / 1000) * rate);
    this.#at = at;
    if (this.#tokens >= cost) {
      this.#tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - this.#tokens) / rate));
  }

  /** True when nothing has been spent: such a bucket is the same as a new one. */
  get full(): boolean {
    const refilled = this.#tokens + ((this.now() - this.#at) / 1000) * this.settings.rate;
    return refilled >= this.settings.burst;
  }
}

/** A limit per key. Async so that a store shared by several nodes can stand behind it. */
export interface RateLimiter {
  /** Takes `cost` from `key`'s bucket: 0 when allowed, else seconds until it would be. */
  take(key: string, cost?: number): Promise<number>;
}

export interface MemoryLimiterOptions extends BucketSettings {
  now?: () => number;
  /** Keys kept at most; full buckets go first, then the oldest. */
  maxKeys?: number;
}

/** Keyed buckets in this process, in a bounded map. */
export function memoryRateLimiter(options: MemoryLimiterOptions): RateLimiter {
  const { now = Date.now, maxKeys = 100_000 } = options;
  const buckets = new Map<string, TokenBucket>();

  function evict(): void {
    for (const [key, bucket] of buckets) if (bucket.full) buckets.delete(key);
    // Still too many: the oldest keys go (Map order is insertion order).
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  }

  return {
    take(key, cost = 1) {
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) evict();
        buckets.set(key, bucket = new TokenBucket(options, now));
      }
      return Promise.resolve(bucket.take(cost));
    },
  };
}

/** Takes one token from `key`'s bucket, or counts the refusal and throws RateLimited. */
export async function takeOrRefuse(
  limiter: RateLimiter,
  key: string,
  onRefused: () => void,
): Promise<void> {
  const wait = await limiter.take(key);
  if (wait === 0) return;
  onRefused();
  throw new RateLimited(wait);
}
