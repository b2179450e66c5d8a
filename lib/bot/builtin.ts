// The built-in bot: works offline and answers about the service itself: what it can do, who
// is online, and what the asker has not read yet.
import type { Accounts } from "../accounts.ts";
import type { Messages } from "../messages.ts";
import type { Presence } from "../presence.ts";
import type { User } from "../records.ts";
import type { Rooms } from "../rooms.ts";
import type { Bot } from "./bot.ts";

export interface BuiltinBotDeps {
  presence: Pick<Presence, "onlineIds">;
  accounts: Pick<Accounts, "getMany">;
  rooms: Pick<Rooms, "get">;
  messages: Pick<Messages, "unreadByRoom">;
  /** The bot's own account and its room with a user: left out of the answers. */
  botUserId: () => Promise<number>;
  botRoomId: (userId: number) => Promise<number>;
}

/** Most names or rooms one answer lists; the rest are counted. */
const LIST_MAX = 20;

export const HELP_TEXT = [
  "I am the chat's helper. Ask me:",
  "• help: this list",
  "• online: who is online now",
  "• unread: your unread messages, by conversation",
].join("\n");

export const FALLBACK_TEXT =
  "I did not understand that. I can tell you who is online or what you have not read yet; " +
  "type help to see what I can do.";

const nameOf = (user: User) => `${user.firstName} ${user.lastName}`.trim() || user.username;

/** "a, b and c"; `more` uncounted items end it as "and N more". */
function listed(items: string[], more = 0): string {
  const all = more > 0 ? [...items, `${more} more`] : items;
  return all.length <= 1 ? all.join("") : `${all.slice(0, -1).join(", ")} and ${all.at(-1)}`;
}

type Intent = "help" | "online" | "unread" | "greeting" | "unknown";

export function intentOf(text: string): Intent {
  const t = text.trim().toLowerCase().replace(/^[/!]/, "");
  if (/^(help|\?|commands?|menu)\b/.test(t) || /\bhelp\b/.test(t)) return "help";
  if (/\bonline\b/.test(t) || /^who\b/.test(t)) return "online";
  if (/\b(unread|notifications?|missed)\b/.test(t)) return "unread";
  if (/^(hi|hello|hey|hallo|good (morning|afternoon|evening))\b/.test(t)) return "greeting";
  return "unknown";
}

export function createBuiltinBot(deps: BuiltinBotDeps): Bot {
  async function online(user: User): Promise<string> {
    const botId = await deps.botUserId();
    const ids = deps.presence.onlineIds().filter((id) => id !== user.id && id !== botId);
    if (ids.length === 0) return "Nobody else is online right now.";
    // Only the accounts the answer names are read.
    const people = await deps.accounts.getMany(ids.slice(0, LIST_MAX));
    const names = people.map(nameOf).sort((a, b) => a.localeCompare(b));
    return `Online now (${ids.length}): ${listed(names, ids.length - people.length)}.`;
  }

  async function unread(user: User): Promise<string> {
    const botRoom = await deps.botRoomId(user.id);
    const counts = [...(await deps.messages.unreadByRoom(user.id)).entries()]
      .filter(([roomId]) => roomId !== botRoom)
      .sort((a, b) => b[1] - a[1]);
    const total = counts.reduce((sum, [, n]) => sum + n, 0);
    if (total === 0) return "You have no unread messages.";
    const shown = counts.slice(0, LIST_MAX);
    const rooms = await Promise.all(shown.map(([id]) => deps.rooms.get(id).catch(() => undefined)));
    const otherOf = (pair: [number, number]) => pair[0] === user.id ? pair[1] : pair[0];
    const otherIds = rooms.flatMap((room) => room?.pair ? [otherOf(room.pair)] : []);
    const people = new Map((await deps.accounts.getMany(otherIds)).map((u) => [u.id, u]));
    const parts = shown.map(([id, n], i) => {
      const room = rooms[i];
      const person = room?.pair ? people.get(otherOf(room.pair)) : undefined;
      const label = person ? nameOf(person) : room?.name ? `group "${room.name}"` : `room ${id}`;
      return `${label}: ${n}`;
    });
    const s = total === 1 ? "" : "s";
    return `You have ${total} unread message${s}: ${listed(parts, counts.length - shown.length)}.`;
  }

  return {
    reply({ user, text }) {
      switch (intentOf(text)) {
        case "help":
          return Promise.resolve(HELP_TEXT);
        case "online":
          return online(user);
        case "unread":
          return unread(user);
        case "greeting":
          return Promise.resolve(`Hello ${nameOf(user)}! Type help to see what I can do.`);
        default:
          return Promise.resolve(FALLBACK_TEXT);
      }
    },
  };
}
