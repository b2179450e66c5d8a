// Messages: sending (committed, then published), history pages, read pointers and unread
// counts. Unread counts and "seen" are derived from read pointers; nothing is stored twice.
import type { Db } from "@/db/client.ts";
import {
  advanceReadPointer,
  countHistory,
  countUnreadByRoom,
  findMessageRows,
  nthNewestId,
  selectHistory,
  selectHistoryBeforeTime,
  selectHistoryByTime,
  selectHistoryRange,
  toMessage,
} from "@/db/messages.ts";
import { findMemberRow, findRoomForUser } from "@/db/rooms.ts";
import type { RoomKind, RoomRow } from "@/db/schema.ts";
import { toUser } from "@/db/users.ts";
import { findByClientId, SendBatch, type SendTarget } from "@/db/send.ts";
import { type GroupCommitStats, GroupCommitter } from "@/db/group_commit.ts";
import {
  ChatError,
  Conflict,
  type ConflictReason,
  NotFound,
  PermissionDenied,
  problemList,
  ValidationError,
} from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import { LIMITS } from "./limits.ts";
import type { Metrics } from "./metrics.ts";
import { type RateLimiter, takeOrRefuse } from "./rate.ts";
import type { Attachment, Message, Room, User } from "./records.ts";
/** Most messages one send transaction stores, so that it stays short. */
export const SEND_MAX_BATCH = 256;

export interface MessagesDeps {
  db: Db;
  events: EventSink;
  messageMaxLength: number;
  now: () => number;
  /** Sends per user (all their connections); a refusal is RateLimited with its wait. */
  sendLimiter?: RateLimiter;
  /** Where throttled sends are counted. */
  metrics?: Metrics;
  /** Most messages a whole history returns (the newest ones); LIMITS.historyMax by default. */
  historyMax?: number;
}

export interface NewMessageInput {
  roomId: number;
  /** The room must be of this kind, else it is not found: for a face that names its rooms. */
  kind?: RoomKind;
  authorId: number;
  text: string;
  image?: string;
  attachmentId?: number | null;
  /** The attachment with its URL (Uploads.claim): stored by id, and told with the message. */
  attachment?: Attachment;
  /** Chosen by the client; a retry with the same id returns the stored message. */
  clientId?: string | null;
}

export interface SendOptions {
  /**
   * Skips the per-user send limit: for the core's own authors (the lounge bot answers every
   * user from one account, so one user's limit must not lose another's reply).
   */
  unthrottled?: boolean;
}

export interface SendResult {
  message: Message;
  /** True when `clientId` matched an earlier send: nothing new was stored or published. */
  duplicate: boolean;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit?: number;
}

export interface HistoryPage {
  messages: Message[];
  /** More messages exist beyond this page in the direction it was read. */
  hasMore: boolean;
}

/**
 * A room's whole history as it stood when it was taken: read page by page, oldest first, never
 * past the newest message of that moment (later ones are left out).
 */
export interface HistorySnapshot<M extends Message = Message> {
  /** Messages in the room at that moment. */
  total: number;
  /** True when the ceiling (HISTORY_MAX) left the oldest ones out. */
  truncated: boolean;
  /** When truncated: the id of the oldest message the pages hold (older ones page from it). */
  oldestId?: number;
  /** Pages of at most LIMITS.historyStreamPage messages, each read when the previous is used. */
  pages: AsyncIterable<M[]>;
}

/** A page by time (meet's original): the newest `limit` messages older than `beforeTime`. */
export interface TimePageQuery {
  /** ms since the epoch, may be fractional; strictly older messages only. */
  beforeTime?: number;
  limit?: number;
}

/**
 * A page by time in either direction (lounge): `before` the newest messages older than `time`,
 * else the oldest ones newer than it. Without a time: the newest messages.
 */
export interface TimeWindowQuery {
  /** ms since the epoch; strictly older or newer messages only. */
  time?: number;
  before: boolean;
  limit?: number;
}

/** A send's outcome; `author` only when it stored a new message, which is then published. */
interface Stored extends SendResult {
  author?: User;
  attachment?: Attachment;
}

/**
 * Why a user may not read or write in a room (a deleted group is gone for everyone, others'
 * rooms are not theirs), or undefined when they may.
 */
function accessRefusal(
  room: Pick<SendTarget["room"], "kind" | "isActive">,
  member: boolean,
): ChatError | undefined {
  if (room.kind === "group" && room.isActive !== 1) return new NotFound();
  if (!member) return new PermissionDenied();
  return undefined;
}

/** Why a room takes no new messages, or undefined when it does. */
function closedReason(room: SendTarget["room"]): ConflictReason | undefined {
  if (room.kind === "desk" && room.status === "closed") return "room_closed";
  if (room.kind === "direct" && room.isActive !== 1) return "room_suspended";
  return undefined;
}

export function createMessages(deps: MessagesDeps) {
  const { db, events, now } = deps;

  function checkInput(input: NewMessageInput) {
    const { add, problems } = problemList();
    const hasContent = input.text.trim().length > 0 || !!input.image ||
      !!(input.attachment ?? input.attachmentId);
    if (!hasContent) add("text", { code: "blank" });
    else if (input.text.length > deps.messageMaxLength) {
      add("text", { code: "max_length", max: deps.messageMaxLength });
    }
    if (
      input.clientId != null &&
      (input.clientId.length === 0 || input.clientId.length > LIMITS.clientId)
    ) {
      add("clientId", { code: "length_between", min: 1, max: LIMITS.clientId });
    }
    ValidationError.check(problems);
  }

  /** Loads the room and checks the reader belongs to it. */
  async function readableRoom(db: Db, roomId: number, userId: number): Promise<RoomRow> {
    const found = await findRoomForUser(db, roomId, userId);
    if (!found) throw new NotFound();
    const refusal = accessRefusal(
      { kind: found.room.kind, isActive: found.room.is_active },
      found.member,
    );
    if (refusal) throw refusal;
    return found.room;
  }

  /**
   * A new message's time: now, but always after the room's newest message (stored earlier,
   * or earlier in this batch), so that times never repeat or go back within a room and a
   * message's time is an exact paging cursor. Read inside the send transaction.
   */
  function nextTime(roomId: number, room: SendTarget["room"]): number {
    const at = now();
    const inBatch = batch.newest(roomId);
    if (inBatch !== undefined) return Math.max(at, inBatch + 1);
    return room.lastMessageId === null ? at : Math.max(at, room.lastActivityAt + 1);
  }

  /**
   * Checks one message and stores it, inside the batch's transaction: against its room,
   * membership and author as the batch read them, then one insert. A refusal writes nothing.
   */
  async function store(trx: Db, input: NewMessageInput): Promise<Stored> {
    const clientId = input.clientId ?? null;
    if (clientId !== null) {
      // Inside the transaction, so it also sees an earlier message of the same batch.
      const earlier = await findByClientId(trx, input.authorId, clientId);
      if (earlier && earlier.room_id !== input.roomId) {
        throw new Conflict("client_id_reused");
      }
      if (earlier) return { message: toMessage(earlier), duplicate: true };
    }
    const target = batch.target(input.roomId, input.authorId);
    if (!target || (input.kind !== undefined && target.room.kind !== input.kind)) {
      throw new NotFound();
    }
    const refusal = accessRefusal(target.room, target.member);
    if (refusal) throw refusal;
    const reason = closedReason(target.room);
    if (reason) throw new Conflict(reason);
    const author = target.author;
    if (!author || author.is_active !== 1) throw new PermissionDenied();
    const row = await batch.insert(trx, {
      room_id: input.roomId,
      author_id: input.authorId,
      body: input.text,
      image: input.image ?? "",
      attachment_id: input.attachment?.id ?? input.attachmentId ?? null,
      client_id: clientId,
      created_at: nextTime(input.roomId, target.room),
    });
    return {
      message: toMessage(row),
      duplicate: false,
      author: toUser(author),
      attachment: input.attachment,
    };
  }

  /** The batch being committed: its targets, read at once, and its rooms' newest messages. */
  const batch = new SendBatch();

  const committer = new GroupCommitter<NewMessageInput, Stored>({
    db,
    apply: store,
    // One room's sends commit in the order of their ids and times, also across processes.
    beforeBatch: (trx, items) => batch.open(trx, items),
    beforeCommit: (trx) => batch.close(trx),
    isRefusal: (err) => err instanceof ChatError,
    afterCommit({ message, author, attachment }) {
      if (author) {
        const event = { type: "message.created", message, author } as const;
        events.publish(
          topic.room(message.roomId),
          attachment ? { ...event, attachment } : event,
        );
      }
    },
    maxBatch: SEND_MAX_BATCH,
    onCommit(items, seconds) {
      deps.metrics?.commitBatch.observe(items);
      deps.metrics?.commitDuration.observe(seconds);
    },
  });

  /**
   * Stores a message, then tells the room. The insert commits before anyone hears of it, so
   * a message a client has seen is never lost. Sends that arrive together share one
   * transaction (db/group_commit.ts); a refusal fails only its own send.
   */
  async function send(input: NewMessageInput, options: SendOptions = {}): Promise<SendResult> {
    checkInput(input);
    if (deps.sendLimiter && !options.unthrottled) {
      await takeOrRefuse(deps.sendLimiter, `send:${input.authorId}`, () => {
        deps.metrics?.throttled.inc({ limit: "send" });
      });
    }
    const { message, duplicate } = await committer.submit(input);
    return { message, duplicate };
  }

  /** Counters of the send transactions, for tests and diagnostics. */
  function sendStats(): Readonly<GroupCommitStats> {
    return committer.stats;
  }

  function checkPage(query: HistoryQuery) {
    const { add, problems } = problemList();
    for (const key of ["before", "after"] as const) {
      const v = query[key];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) add(key, { code: "not_integer" });
    }
    const limit = query.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      add("limit", { code: "min_value", min: 1 });
    }
    ValidationError.check(problems);
  }

  /** One page of a room's history, oldest first; `limit` is capped at 100. */
  async function history(
    roomId: number,
    userId: number,
    query: HistoryQuery = {},
  ): Promise<HistoryPage> {
    checkPage(query);
    await readableRoom(db, roomId, userId);
    const limit = Math.min(query.limit ?? LIMITS.historyDefaultPage, LIMITS.historyPage);
    const { rows, hasMore } = await selectHistory(db, roomId, { ...query, limit });
    return { messages: rows.map(toMessage), hasMore };
  }

  /**
   * The whole history of a room, oldest first, as a snapshot read in pages: the membership is
   * checked once, here, and the newest message of this moment bounds every page. Beyond
   * `historyMax` messages only the newest `historyMax` are returned.
   */
  async function historySnapshot(roomId: number, userId: number): Promise<HistorySnapshot> {
    const room = await readableRoom(db, roomId, userId);
    const newest = room.last_message_id ?? 0;
    const max = deps.historyMax ?? LIMITS.historyMax;
    const total = newest === 0 ? 0 : await countHistory(db, roomId, newest);
    const truncated = total > max;
    const oldestId = truncated ? await nthNewestId(db, roomId, newest, max) : undefined;
    async function* pages(): AsyncGenerator<Message[]> {
      if (total === 0) return;
      const limit = LIMITS.historyStreamPage;
      let from = oldestId ?? 0;
      while (true) {
        const rows = await selectHistoryRange(db, roomId, { from, through: newest, limit });
        if (rows.length > 0) yield rows.map(toMessage);
        if (rows.length < limit) return;
        from = rows[rows.length - 1].id + 1;
      }
    }
    return { total, truncated, oldestId, pages: pages() };
  }

  /** The newest messages older than a moment, oldest first; `limit` is capped at 200. */
  async function historyByTime(
    roomId: number,
    userId: number,
    query: TimePageQuery = {},
  ): Promise<Message[]> {
    checkPage({ limit: query.limit });
    await readableRoom(db, roomId, userId);
    const limit = Math.min(query.limit ?? LIMITS.historyDefaultPage, LIMITS.historyTimePage);
    const rows = await selectHistoryBeforeTime(db, roomId, { beforeTime: query.beforeTime, limit });
    return rows.map(toMessage);
  }

  /** A page by time in either direction (TimeWindowQuery); `limit` is capped at 100. */
  async function pageByTime(
    roomId: number,
    userId: number,
    query: TimeWindowQuery,
  ): Promise<HistoryPage> {
    await readableRoom(db, roomId, userId);
    return await pageOfRoom(roomId, query);
  }

  /**
   * pageByTime without the membership check, for a caller that decided who may read (open
   * groups: lib/groups.ts).
   */
  async function pageOfRoom(roomId: number, query: TimeWindowQuery): Promise<HistoryPage> {
    checkPage({ limit: query.limit });
    const limit = Math.min(query.limit ?? LIMITS.historyPage, LIMITS.historyPage);
    const { rows, hasMore } = await selectHistoryByTime(db, roomId, { ...query, limit });
    return { messages: rows.map(toMessage), hasMore };
  }

  /**
   * Marks a room read up to `upTo` (default: its newest message). The pointer only moves
   * forward and never past the newest message. Returns the pointer after the call.
   */
  async function markRead(roomId: number, userId: number, upTo?: number): Promise<number> {
    const room = await readableRoom(db, roomId, userId);
    const newest = room.last_message_id ?? 0;
    const target = Math.min(upTo ?? newest, newest);
    const moved = target > 0 && await advanceReadPointer(db, roomId, userId, target);
    const member = await findMemberRow(db, roomId, userId);
    const lastReadId = member?.last_read_id ?? 0;
    if (moved) {
      const event = { type: "read.updated", roomId, userId, lastReadId } as const;
      events.publish(topic.room(roomId), event);
      events.publish(topic.user(userId), event);
    }
    return lastReadId;
  }

  /**
   * The last message of each room, by room id (rooms without one are left out). The rooms are
   * ones the core listed for the reader (Rooms.directPages, listForUser): no check again here.
   */
  async function lastMessagesOf(rooms: Room[]): Promise<Map<number, Message>> {
    const ids = rooms.map((r) => r.lastMessageId).filter((id): id is number => id !== null);
    const rows = await findMessageRows(db, [...new Set(ids)]);
    return new Map(rows.map((row) => [row.room_id, toMessage(row)]));
  }

  async function unreadCount(roomId: number, userId: number): Promise<number> {
    return (await countUnreadByRoom(db, userId, roomId)).get(roomId) ?? 0;
  }

  /** Unread counts of every room of the user that has any. */
  function unreadByRoom(userId: number): Promise<Map<number, number>> {
    return countUnreadByRoom(db, userId);
  }

  async function unreadTotal(userId: number): Promise<number> {
    let total = 0;
    for (const n of (await countUnreadByRoom(db, userId)).values()) total += n;
    return total;
  }

  return {
    send,
    sendStats,
    history,
    historySnapshot,
    historyByTime,
    pageByTime,
    pageOfRoom,
    markRead,
    lastMessagesOf,
    unreadCount,
    unreadByRoom,
    unreadTotal,
  };
}

export type Messages = ReturnType<typeof createMessages>;
