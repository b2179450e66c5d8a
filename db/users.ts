// Queries on users.
import type { User } from "@/lib/records.ts";
import type { Db } from "./client.ts";
import type { NewUser, UserRow, UserUpdate } from "./schema.ts";

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role,
    image: row.image,
    isActive: row.is_active === 1,
    emailVerified: row.email_verified === 1,
    isBot: row.is_bot === 1,
    dateJoined: row.date_joined,
    lastSeen: row.last_seen,
    language: row.language,
    gender: row.gender,
    balance: row.balance,
    cameraOn: row.camera_on === 1,
    currentRoomId: row.current_room_id,
  };
}

export async function insertUser(db: Db, user: NewUser): Promise<UserRow> {
  return await db.insertInto("users").values(user).returningAll().executeTakeFirstOrThrow();
}

export async function findUserRow(db: Db, id: number): Promise<UserRow | undefined> {
  return await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * The accounts a login could name: by username (exact) or e-mail (any case). At most two,
 * since one person's username may equal another's e-mail; the e-mail match comes first when
 * the login looks like an address.
 */
export async function findUserRowsByLogin(db: Db, login: string): Promise<UserRow[]> {
  const rows = await db.selectFrom("users").selectAll()
    .where((eb) => eb.or([eb("username", "=", login), eb("email", "=", login)]))
    .orderBy("id").limit(2).execute();
  const byEmail = (row: UserRow) => row.email?.toLowerCase() === login.toLowerCase() ? 0 : 1;
  return login.includes("@") ? rows.sort((a, b) => byEmail(a) - byEmail(b)) : rows;
}

export async function findUserRowByUsername(
  db: Db,
  username: string,
): Promise<UserRow | undefined> {
  return await db.selectFrom("users").selectAll().where("username", "=", username)
    .executeTakeFirst();
}

export async function usernameTaken(db: Db, username: string): Promise<boolean> {
  const row = await db.selectFrom("users").select("id").where("username", "=", username)
    .executeTakeFirst();
  return row !== undefined;
}

export async function emailTaken(db: Db, email: string): Promise<boolean> {
  const row = await db.selectFrom("users").select("id").where("email", "=", email)
    .executeTakeFirst();
  return row !== undefined;
}

export async function updateUserRow(
  db: Db,
  id: number,
  changes: UserUpdate,
): Promise<UserRow | undefined> {
  return await db.updateTable("users").set(changes).where("id", "=", id).returningAll()
    .executeTakeFirst();
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findUsersByIds(db: Db, ids: number[]): Promise<User[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom("users").selectAll().where("id", "in", ids).execute();
  return rows.map(toUser);
}

/** One keyset page of the active accounts, by id: those after `afterId`, at most `limit`. */
export async function selectActiveUsersPage(
  db: Db,
  afterId: number,
  limit: number,
): Promise<User[]> {
  const rows = await db.selectFrom("users").selectAll()
    .where("is_active", "=", 1).where("id", ">", afterId)
    .orderBy("id").limit(limit).execute();
  return rows.map(toUser);
}
