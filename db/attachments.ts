// Queries on attachments: uploaded files' records (the bytes live in a storage back-end).
import type { Db } from "./client.ts";
import type { AttachmentRow, NewAttachment } from "./schema.ts";

export async function insertAttachment(db: Db, row: NewAttachment): Promise<AttachmentRow> {
  return await db.insertInto("attachments").values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findAttachmentByKey(db: Db, key: string): Promise<AttachmentRow | undefined> {
  return await db.selectFrom("attachments").selectAll().where("key", "=", key).executeTakeFirst();
}

export async function findAttachmentRows(db: Db, ids: number[]): Promise<AttachmentRow[]> {
  if (ids.length === 0) return [];
  return await db.selectFrom("attachments").selectAll().where("id", "in", ids).execute();
}

/** Gives an anonymous upload to `userId`; false when it already had an uploader. */
export async function claimAnonymousAttachment(
  db: Db,
  id: number,
  userId: number,
): Promise<boolean> {
  const result = await db.updateTable("attachments").set({ uploader_id: userId })
    .where("id", "=", id).where("uploader_id", "is", null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Records when the last URL handed out for an attachment stops working. */
export async function setAttachmentUrlExpiry(db: Db, id: number, at: number): Promise<void> {
  await db.updateTable("attachments").set({ url_expires_at: at }).where("id", "=", id).execute();
}

/** A message's room and its attachment (undefined when it has none); undefined if no message. */
export async function findMessageAttachment(
  db: Db,
  messageId: number,
): Promise<{ roomId: number; attachment: AttachmentRow | undefined } | undefined> {
  const message = await db.selectFrom("messages").select(["room_id", "attachment_id"])
    .where("id", "=", messageId).executeTakeFirst();
  if (!message) return undefined;
  const attachment = message.attachment_id === null ? undefined : await db
    .selectFrom("attachments").selectAll().where("id", "=", message.attachment_id)
    .executeTakeFirst();
  return { roomId: message.room_id, attachment };
}
