// Table types for Kysely, matching migrations/. Booleans are 0/1 integers in SQLite.
import type { Generated, Insertable, Selectable, Updateable } from "kysely";

export type Flag = 0 | 1;
export type Role = "member" | "teacher" | "admin";
export type RoomKind = "direct" | "group" | "desk";
export type DeskStatus = "active" | "engaged" | "closed";
export type RoomType = "chat" | "video";
export type MemberRole = "member" | "owner" | "student" | "teacher";

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string | null;
  password: string;
  first_name: Generated<string>;
  last_name: Generated<string>;
  role: Generated<Role>;
  image: Generated<string>;
  is_active: Generated<Flag>;
  email_verified: Generated<Flag>;
  is_bot: Generated<Flag>;
  date_joined: number;
  last_seen: number | null;
  language: Generated<string>;
  gender: Generated<string>;
  balance: Generated<string>;
  camera_on: Generated<Flag>;
  current_room_id: number | null;
}

export interface RoomsTable {
  id: Generated<number>;
  kind: RoomKind;
  created_by: number | null;
  created_at: number;
  name: string | null;
  description: Generated<string>;
  room_type: RoomType | null;
  is_active: Generated<Flag>;
  status: DeskStatus | null;
  teacher_id: number | null;
  topic: Generated<string>;
  topic_image: Generated<string>;
  user_low: number | null;
  user_high: number | null;
  last_message_id: number | null;
  last_activity_at: number;
}

export interface MembersTable {
  room_id: number;
  user_id: number;
  role: Generated<MemberRole>;
  joined_at: number;
  last_read_id: Generated<number>;
}

export interface AttachmentsTable {
  id: Generated<number>;
  /** Null: an anonymous upload not yet claimed by a sender. */
  uploader_id: number | null;
  storage: "local" | "s3";
  key: string;
  name: string;
  content_type: string;
  size: number;
  created_at: number;
  /** S3: when the last presigned URL handed out stops working (ms); null for local files. */
  url_expires_at: number | null;
}

export interface MessagesTable {
  id: Generated<number>;
  room_id: number;
  author_id: number;
  body: Generated<string>;
  image: Generated<string>;
  attachment_id: number | null;
  client_id: string | null;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  user_id: number;
  created_at: number;
  revoked_at: number | null;
}

export interface RefreshTokensTable {
  jti: string;
  session_id: string;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
  /** The refresh token that replaced this one when it was rotated. */
  replaced_by: string | null;
}

export interface PendingSignupsTable {
  token_hash: string;
  email: string;
  password: string;
  first_name: Generated<string>;
  last_name: Generated<string>;
  created_at: number;
  expires_at: number;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface Database {
  users: UsersTable;
  rooms: RoomsTable;
  members: MembersTable;
  attachments: AttachmentsTable;
  messages: MessagesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  pending_signups: PendingSignupsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type RoomRow = Selectable<RoomsTable>;
export type NewRoom = Insertable<RoomsTable>;
export type MemberRow = Selectable<MembersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type AttachmentRow = Selectable<AttachmentsTable>;
export type NewAttachment = Insertable<AttachmentsTable>;
