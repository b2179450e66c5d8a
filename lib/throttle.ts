// Counts failures per key in a sliding window; past the limit, the key is refused until its
// oldest failure ages out. In memory and per process: enough to slow password guessing.

export interface ThrottleOptions {
  max: number;
  windowMs: number;
  now: () => number;
  /** Keys tracked at most; the least recently failed are dropped first. */
  maxKeys?: number;
}

export function createThrottle({ max, windowMs, now, maxKeys = 100_000 }: ThrottleOptions) {
  const failures = new Map<string, number[]>();

  function recent(key: string): number[] {
    const times = failures.get(key);
    if (!times) return [];
    const cutoff = now() - windowMs;
    while (times.length > 0 && times[0] <= cutoff) times.shift();
    if (times.length === 0) failures.delete(key);
    return times;
  }

  return {
    /** Seconds until `key` may try again, or 0 when it may now. */
    retryAfter(key: string): number {
      const times = recent(key);
      if (times.length < max) return 0;
      return Math.max(1, Math.ceil((times[0] + windowMs - now()) / 1000));
    },
    fail(key: string): void {
      const times = recent(key);
      failures.delete(key); // re-inserted last: Map order is least recently failed first
      times.push(now());
      failures.set(key, times);
      if (failures.size > maxKeys) failures.delete(failures.keys().next().value!);
    },
    reset(key: string): void {
      failures.delete(key);
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
