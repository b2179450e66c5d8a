// The plain records the core hands to faces. Faces shape them into their own JSON.
import type { DeskStatus, MemberRole, Role, RoomKind, RoomType } from "@/db/schema.ts";

export type { DeskStatus, MemberRole, Role, RoomKind, RoomType };

export interface User {
  id: number;
  username: string;
  email: string | null;
  firstName: string;
  lastName: string;
  role: Role;
  image: string;
  isActive: boolean;
  emailVerified: boolean;
  isBot: boolean;
  dateJoined: number;
  lastSeen: number | null;
  language: string;
  gender: string;
  balance: string;
  cameraOn: boolean;
  currentRoomId: number | null;
}

export interface Room {
  id: number;
  kind: RoomKind;
  createdBy: number | null;
  createdAt: number;
  /** group only */
  name: string | null;
  description: string;
  roomType: RoomType | null;
  isActive: boolean;
  /** desk only */
  status: DeskStatus | null;
  teacherId: number | null;
  topic: string;
  topicImage: string;
  /** direct only: the two members, lower id first */
  pair: [number, number] | null;
  lastMessageId: number | null;
  lastActivityAt: number;
}

export interface Member {
  roomId: number;
  userId: number;
  role: MemberRole;
  joinedAt: number;
  lastReadId: number;
}

export interface Message {
  id: number;
  roomId: number;
  authorId: number;
  text: string;
  image: string;
  attachmentId: number | null;
  clientId: string | null;
  createdAt: number;
}

/** An uploaded file as faces show it: where to fetch it, and until when that works. */
export interface Attachment {
  id: number;
  /** The generated storage name; the client's file identifier. */
  key: string;
  /** The client's file name, kept as metadata only. */
  name: string;
  contentType: string;
  size: number;
  storage: "local" | "s3";
  /** local: a path of this service ("/uploads/<key>"); s3: a presigned GET URL. */
  url: string;
  /** ms since the epoch when `url` stops working; null when it does not expire. */
  expiresAt: number | null;
}

/** The person behind a verified token, as every face sees them. */
export interface Principal {
  user: User;
  sessionId: string;
}

/** The other person of a direct room (undefined for other kinds of room). */
export function otherMember(room: Pick<Room, "pair">, userId: number): number | undefined {
  if (!room.pair) return undefined;
  return room.pair[0] === userId ? room.pair[1] : room.pair[0];
}

/** A full name as first name (first word) and last name (the rest). */
export function splitName(name: string): { firstName: string; lastName: string } {
  const [firstName = "", ...rest] = name.trim().split(/\s+/);
  return { firstName, lastName: rest.join(" ") };
}
