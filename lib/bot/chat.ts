// The lounge's bot chat: the bot is an ordinary account (is_bot = 1, no usable password) and
// a user's bot chat is their direct room with it. A turn stores the user's message first,
// asks the bot with a deadline and stores its answer, or a short apology when it failed, so
// every question gets exactly one stored reply.
import type { Db } from "@/db/client.ts";
import { isUniqueViolation } from "@/db/errors.ts";
import { findUserRowByUsername, insertUser, toUser } from "@/db/users.ts";
import type { Accounts } from "../accounts.ts";
import { RateLimited } from "../errors.ts";
import { type EventSink, topic } from "../events.ts";
import { createGate } from "../gate.ts";
import type { Logger } from "../log.ts";
import type { Messages } from "../messages.ts";
import type { Metrics } from "../metrics.ts";
import { UNUSABLE_PASSWORD } from "../passwords.ts";
import type { Presence } from "../presence.ts";
import type { Message, Room, User } from "../records.ts";
import type { Rooms } from "../rooms.ts";
import type { Bot, BotTurn } from "./bot.ts";
import { createBuiltinBot } from "./builtin.ts";

/** The bot's username; reserved (accounts.RESERVED_USERNAMES), so no person can hold it. */
export const BOT_USERNAME = "bot";

/** What the user reads when the bot failed or took too long. */
export const APOLOGY = "Sorry, I cannot answer right now. Please try again in a moment.";

export interface BotChatDeps {
  db: Db;
  events: EventSink;
  accounts: Accounts;
  rooms: Rooms;
  messages: Messages;
  presence: Presence;
  log: Logger;
  metrics: Metrics;
  now: () => number;
  /** What answers; the built-in helper when left out. */
  bot?: Bot;
  /** How long a turn waits for the answer (ms), queueing included. */
  timeoutMs: number;
  /** Answers asked for at once over all users; as many more may wait. */
  concurrency: number;
  /** The longest stored message; longer answers are cut. */
  messageMaxLength: number;
  /** Earlier messages given to the bot as context. */
  historyTurns?: number;
}

/** Rejects when `signal` aborts, whether or not `work` listens to it. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export function createBotChat(deps: BotChatDeps) {
  const { db, events, accounts, rooms, messages, log, metrics } = deps;
  const historyTurns = deps.historyTurns ?? 20;
  // Users with a question in progress: one at a time each.
  const busy = new Set<number>();
  const gate = createGate({
    concurrency: deps.concurrency,
    queue: deps.concurrency,
    onRefused: () => metrics.throttled.inc({ limit: "bot" }),
  });

  let botId: Promise<number> | undefined;

  /** Finds or creates the bot account; two processes creating it at once agree on one row. */
  async function findOrCreateBot(): Promise<number> {
    let row = await findUserRowByUsername(db, BOT_USERNAME);
    if (!row) {
      try {
        row = await insertUser(db, {
          username: BOT_USERNAME,
          email: null,
          password: `${UNUSABLE_PASSWORD}${crypto.randomUUID().replaceAll("-", "")}`,
          first_name: "Chat",
          last_name: "Bot",
          role: "member",
          image: "",
          email_verified: 1,
          is_bot: 1,
          date_joined: deps.now(),
          last_seen: null,
          current_room_id: null,
        });
        events.publish(topic.everyone, { type: "user.updated", user: toUser(row) });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        row = await findUserRowByUsername(db, BOT_USERNAME);
        if (!row) throw err;
      }
    }
    if (row.is_bot !== 1) {
      throw new Error(`the account "${BOT_USERNAME}" is not a bot (is_bot = 0); rename it`);
    }
    return row.id;
  }

  function botUserId(): Promise<number> {
    botId ??= findOrCreateBot().catch((err) => {
      botId = undefined; // the next call tries again
      throw err;
    });
    return botId;
  }

  /** The bot's account (is_bot), created on first use. */
  async function botUser(): Promise<User> {
    return await accounts.get(await botUserId());
  }

  /** The user's direct room with the bot, created on first use. */
  async function room(userId: number): Promise<Room> {
    return await rooms.direct(userId, await botUserId());
  }

  const bot = deps.bot ?? createBuiltinBot({
    presence: deps.presence,
    accounts,
    rooms,
    messages,
    botUserId,
    botRoomId: async (userId) => (await room(userId)).id,
  });

  /**
   * The last `historyTurns` messages before `beforeId`, oldest first. Apologies are left out:
   * they are ours, not the bot's, and would only teach it to apologise.
   */
  async function historyOf(roomId: number, userId: number, beforeId: number, id: number) {
    const page = await messages.history(roomId, userId, { before: beforeId, limit: historyTurns });
    return page.messages
      .filter((m) => m.text.trim() !== "" && !(m.authorId === id && m.text === APOLOGY))
      .map((m): BotTurn => ({ fromBot: m.authorId === id, text: m.text }));
  }

  /**
   * Asks the bot about the user's stored message `mine`, within the deadline (gathering the
   * context and waiting for a turn included); the apology on any failure.
   */
  async function answer(mine: Message, id: number): Promise<string> {
    const signal = AbortSignal.timeout(deps.timeoutMs);
    const started = performance.now();
    try {
      const ask = async () => {
        const [user, history] = await Promise.all([
          accounts.get(mine.authorId),
          historyOf(mine.roomId, mine.authorId, mine.id, id),
        ]);
        return await gate.run(() => bot.reply({ user, history, text: mine.text, signal }));
      };
      const reply = await untilAborted(ask(), signal);
      const trimmed = typeof reply === "string" ? reply.trim() : "";
      if (trimmed === "") throw new Error("the bot gave an empty answer");
      return trimmed.slice(0, deps.messageMaxLength);
    } catch (err) {
      const timedOut = signal.aborted;
      log.warn("bot did not answer", {
        userId: mine.authorId,
        timedOut,
        ms: Math.round(performance.now() - started),
        reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return APOLOGY;
    }
  }

  /**
   * One turn of the bot chat: stores the user's message (committed, published), asks the bot
   * with the conversation's last messages as context, stores its answer (or the apology) as
   * the bot's message, and returns both. One turn per user at a time: a second one while the
   * first waits for its answer is refused (RateLimited, 1 s) before anything is stored. The
   * user's message goes through the usual send checks and limit; the bot's does not count
   * against any limit.
   */
  async function send(userId: number, text: string): Promise<{ user: Message; bot: Message }> {
    if (busy.has(userId)) {
      metrics.throttled.inc({ limit: "bot_turn" });
      throw new RateLimited(1);
    }
    busy.add(userId);
    try {
      const id = await botUserId();
      const chat = await rooms.direct(userId, id);
      const { message: mine } = await messages.send({ roomId: chat.id, authorId: userId, text });
      const reply = await answer(mine, id);
      const { message: theirs } = await messages.send(
        { roomId: chat.id, authorId: id, text: reply },
        { unthrottled: true },
      );
      return { user: mine, bot: theirs };
    } finally {
      busy.delete(userId);
    }
  }

  return { botUser, room, send };
}

export type BotChat = ReturnType<typeof createBotChat>;
