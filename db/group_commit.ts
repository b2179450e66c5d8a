// Group commit: writes that arrive together share one transaction. One BEGIN…COMMIT per
// write is what limits throughput under load (each commit is a WAL append and, for a remote
// database, round trips), so items queue while a batch's transaction runs and the next
// transaction takes everything that queued. An idle committer starts a batch after the current
// turn of the event loop, so what arrived in that turn shares it; it never waits longer (a
// timer would cost more than the commit it saves: ~70 µs of CPU for a 1 ms setTimeout under
// Deno, which fires after ~2 ms). Knows nothing of what the items are.
import { setImmediate } from "node:timers";
import type { Db } from "./client.ts";
import { isDatabaseUnavailable, isRetryable } from "./errors.ts";

export interface GroupCommitOptions<T, R> {
  db: Db;
  /**
   * Applies one item inside the batch's transaction. A refusal (see `isRefusal`) must be
   * thrown before the item writes anything: the batch commits without it.
   */
  apply(trx: Db, item: T): Promise<R>;
  /**
   * Runs first in each batch's transaction, with every item of the batch: row locks (which
   * PostgreSQL needs where SQLite's write transaction already runs alone), and reads the whole
   * batch needs, made once rather than once per item.
   */
  beforeBatch?(trx: Db, items: T[]): Promise<void>;
  /**
   * Runs last in each batch's transaction, after every item was applied or refused: writes
   * that a batch makes once rather than once per item. Throwing rolls the batch back.
   */
  beforeCommit?(trx: Db): Promise<void>;
  /**
   * Errors that refuse one item only; any other error rolls the whole batch back. An
   * unreachable database (db/errors.ts) is never a refusal, whatever its class.
   */
  isRefusal(err: unknown): boolean;
  /**
   * Runs for each applied item after its transaction committed, in apply order, before any
   * submitter hears back; it must not wait (nothing awaits it). Throwing rejects that item.
   */
  afterCommit?(result: R): void;
  /** Most items in one transaction, so that a transaction stays short. */
  maxBatch?: number;
  /** Told each committed transaction's item count and duration in seconds (metrics). */
  onCommit?(items: number, seconds: number): void;
}

export interface GroupCommitStats {
  /** Items submitted so far. */
  items: number;
  /** Transactions begun, including rolled-back ones and items retried alone. */
  transactions: number;
  /** Most items one transaction held. */
  largestBatch: number;
}

interface Pending<T, R> {
  item: T;
  resolve(value: R): void;
  reject(err: unknown): void;
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export const DEFAULT_MAX_BATCH = 256;

/** Times an item alone is run again after a deadlock or a conflict with another process. */
const MAX_RETRIES = 5;

export class GroupCommitter<T, R> {
  readonly #options: GroupCommitOptions<T, R>;
  readonly #maxBatch: number;
  #queue: Pending<T, R>[] = [];
  #draining = false;
  #stats: GroupCommitStats = { items: 0, transactions: 0, largestBatch: 0 };

  constructor(options: GroupCommitOptions<T, R>) {
    this.#options = options;
    this.#maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /** A copy: callers may read the counters, not move them. */
  get stats(): Readonly<GroupCommitStats> {
    return { ...this.#stats };
  }

  /** Settles once the item's transaction committed (and `afterCommit` ran) or refused it. */
  submit(item: T): Promise<R> {
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    this.#queue.push({ item, resolve, reject });
    this.#stats.items++;
    if (!this.#draining) {
      this.#draining = true;
      // After this turn of the event loop: what arrived in the same turn shares the batch.
      setImmediate(() => this.#drain());
    }
    return promise;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        // #commit settles every item itself; this only keeps a bug from stranding a batch.
        await this.#commit(batch).catch((err) => batch.forEach((p) => p.reject(err)));
      }
    } finally {
      this.#draining = false;
    }
  }

  async #commit(batch: Pending<T, R>[], attempt = 0): Promise<void> {
    const { db, apply, isRefusal, beforeBatch, beforeCommit } = this.#options;
    this.#stats.transactions++;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, batch.length);
    let outcomes: Outcome<R>[] = [];
    const started = performance.now();
    try {
      await db.transaction().execute(async (trx) => {
        outcomes = [];
        await beforeBatch?.(trx, batch.map((p) => p.item));
        for (const { item } of batch) {
          try {
            outcomes.push({ ok: true, value: await apply(trx, item) });
          } catch (err) {
            if (isDatabaseUnavailable(err) || !isRefusal(err)) throw err;
            outcomes.push({ ok: false, error: err });
          }
        }
        await beforeCommit?.(trx);
      });
    } catch (err) {
      if (batch.length === 1) {
        // Another process won a race (PostgreSQL): run again, it then sees what that one wrote.
        if (isRetryable(err) && attempt < MAX_RETRIES) {
          return await this.#commit(batch, attempt + 1);
        }
        batch[0].reject(err);
        return;
      }
      // Rolled back: retry each item alone, so one bad item cannot fail its neighbours.
      for (const pending of batch) await this.#commit([pending]);
      return;
    }
    this.#options.onCommit?.(batch.length, (performance.now() - started) / 1000);
    this.#settle(batch, outcomes);
  }

  #settle(batch: Pending<T, R>[], outcomes: Outcome<R>[]): void {
    // One synchronous pass: promise reactions run after it, so every afterCommit of the
    // batch happens before the first submitter hears back.
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return pending.reject(outcome.error);
      try {
        this.#options.afterCommit?.(outcome.value);
      } catch (err) {
        return pending.reject(err);
      }
      pending.resolve(outcome.value);
    });
  }
}
