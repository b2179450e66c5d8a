// Counts failures per key in a sliding window; past the limit, the key is refused until its
// oldest failure ages out. In memory and per process: enough to slow password guessing.
// An attempt reserves its failure before the slow part (hashing) and gives it back when it
// succeeds, so parallel attempts cannot all pass the check before any failure is counted.

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
    /**
     * Counts an attempt as a failure now: 0 when counted, else the seconds until `key` may try
     * again (and nothing is counted). Check and count happen in one step.
     */
    reserve(key: string): number {
      const times = recent(key);
      if (times.length >= max) return Math.max(1, Math.ceil((times[0] + windowMs - now()) / 1000));
      failures.delete(key); // re-inserted last: Map order is least recently failed first
      times.push(now());
      failures.set(key, times);
      if (failures.size > maxKeys) failures.delete(failures.keys().next().value!);
      return 0;
    },
    /** Gives back one reservation: the attempt succeeded, or never got to the password. */
    release(key: string): void {
      const times = recent(key);
      times.pop();
      if (times.length === 0) failures.delete(key);
    },
    /** Failures counted for `key` within the window. */
    count(key: string): number {
      return recent(key).length;
    },
    reset(key: string): void {
      failures.delete(key);
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
