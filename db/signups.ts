// Queries on pending sign-ups: one row per e-mail address waiting for its link to be opened.
import type { Db } from "./client.ts";
import type { Selectable } from "kysely";
import type { PendingSignupsTable } from "./schema.ts";
import { lockKey } from "./engine.ts";

export type PendingSignupRow = Selectable<PendingSignupsTable>;

export interface NewPendingSignup {
  tokenHash: string;
  email: string;
  /** The stored form (lib/passwords.ts), never the password itself. */
  password: string;
  firstName: string;
  lastName: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * Stores a pending sign-up in place of any earlier one for the same address (and drops the
 * expired ones of everybody, so the table holds live links only). One write transaction that
 * holds the address's lock: two registrations of one address at once leave exactly one row.
 */
export async function replacePendingSignup(db: Db, row: NewPendingSignup): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockKey(trx, `signup:${row.email.toLowerCase()}`);
    await trx.deleteFrom("pending_signups")
      .where((eb) => eb.or([eb("email", "=", row.email), eb("expires_at", "<=", row.createdAt)]))
      .execute();
    await trx.insertInto("pending_signups").values({
      token_hash: row.tokenHash,
      email: row.email,
      password: row.password,
      first_name: row.firstName,
      last_name: row.lastName,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    }).execute();
  });
}

/** Removes one pending sign-up; the row it removed, if any. */
export async function takePendingSignup(
  db: Db,
  tokenHash: string,
): Promise<PendingSignupRow | undefined> {
  return await db.deleteFrom("pending_signups").where("token_hash", "=", tokenHash)
    .returningAll().executeTakeFirst();
}

/** True when a pending sign-up with this token hash exists (expired or not). */
export async function pendingSignupExists(db: Db, tokenHash: string): Promise<boolean> {
  const row = await db.selectFrom("pending_signups").select("token_hash")
    .where("token_hash", "=", tokenHash).executeTakeFirst();
  return row !== undefined;
}

/** Pending sign-ups for an address (tests and diagnostics). */
export async function countPendingSignups(db: Db, email?: string): Promise<number> {
  let query = db.selectFrom("pending_signups").select((eb) => eb.fn.countAll<number>().as("n"));
  if (email !== undefined) query = query.where("email", "=", email);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}
