// A bound on slow work done at once (password hashing): at most `concurrency` tasks run, at
// most `queue` wait their turn, and past that run() refuses at once with Overloaded, so a
// storm costs refusals rather than every core and an ever longer queue.
import { Overloaded } from "./errors.ts";

export interface GateOptions {
  concurrency: number;
  queue: number;
  /** Seconds a refused caller is told to wait. */
  retryAfter?: number;
  /** Called on each refusal (metrics). */
  onRefused?: () => void;
}

export function createGate({ concurrency, queue, retryAfter = 1, onRefused }: GateOptions) {
  let running = 0;
  let peak = 0;
  const waiting: (() => void)[] = [];

  return {
    /** Runs `task` when a slot is free; throws Overloaded when the queue is full. */
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < concurrency) {
        running++;
      } else if (waiting.length < queue) {
        // The finishing task hands its slot over: `running` already counts this one.
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        onRefused?.();
        throw new Overloaded(retryAfter);
      }
      peak = Math.max(peak, running);
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    },
    /** Tasks running now. */
    get running(): number {
      return running;
    },
    /** Tasks waiting for a slot. */
    get queued(): number {
      return waiting.length;
    },
    /** The most tasks that ever ran at once: never above `concurrency`. */
    get peak(): number {
      return peak;
    },
  };
}

export type Gate = ReturnType<typeof createGate>;
