// Queries on login sessions and the refresh tokens issued within them.
import type { Db } from "./client.ts";
import type { UserRow } from "./schema.ts";

export async function insertSession(db: Db, id: string, userId: number, now: number) {
  await db.insertInto("sessions").values({ id, user_id: userId, created_at: now }).execute();
}

export async function insertRefreshToken(
  db: Db,
  token: { jti: string; sessionId: string; issuedAt: number; expiresAt: number },
) {
  await db.insertInto("refresh_tokens").values({
    jti: token.jti,
    session_id: token.sessionId,
    issued_at: token.issuedAt,
    expires_at: token.expiresAt,
  }).execute();
}

/**
 * Marks a refresh token used and replaced by `replacedBy`. Returns false when it was already
 * used (or never issued): the conditional update makes two racing refreshes of one token see
 * exactly one winner.
 */
export async function markRefreshTokenUsed(
  db: Db,
  jti: string,
  sessionId: string,
  now: number,
  replacedBy: string,
): Promise<boolean> {
  const result = await db.updateTable("refresh_tokens").set({
    used_at: now,
    replaced_by: replacedBy,
  })
    .where("jti", "=", jti).where("session_id", "=", sessionId).where("used_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** A refresh token issued within a session, or undefined. */
export async function findRefreshToken(db: Db, jti: string, sessionId: string) {
  return await db.selectFrom("refresh_tokens").selectAll()
    .where("jti", "=", jti).where("session_id", "=", sessionId)
    .executeTakeFirst();
}

/** The session's user, when the session is live and the user active. */
export async function findSessionUser(
  db: Db,
  sessionId: string,
  userId: number,
): Promise<UserRow | undefined> {
  return await db.selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .selectAll("users")
    .where("sessions.id", "=", sessionId)
    .where("sessions.user_id", "=", userId)
    .where("sessions.revoked_at", "is", null)
    .where("users.is_active", "=", 1)
    .executeTakeFirst();
}

export async function revokeSession(db: Db, sessionId: string, now: number): Promise<boolean> {
  const result = await db.updateTable("sessions").set({ revoked_at: now })
    .where("id", "=", sessionId).where("revoked_at", "is", null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Revokes every live session of a user but `except`; returns their ids. */
export async function revokeUserSessions(
  db: Db,
  userId: number,
  now: number,
  except?: string,
): Promise<string[]> {
  let query = db.updateTable("sessions").set({ revoked_at: now })
    .where("user_id", "=", userId).where("revoked_at", "is", null);
  if (except !== undefined) query = query.where("id", "!=", except);
  const rows = await query.returning("id").execute();
  return rows.map((r) => r.id);
}
