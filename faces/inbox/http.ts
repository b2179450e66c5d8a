// The inbox face over HTTP: the user's conversations, the messages of one conversation (by the
// other person's username, no trailing slash: `/api/rooms/{id}/messages/` is meet's), and the
// user objects the payloads' `url` fields link to. Uploads are in uploads.ts; the sockets in
// socket.ts.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type Attachment, type Message, otherMember, type Room, type User } from "@/lib/records.ts";
import { type AppEnv, requireAuth } from "@/routes/context.ts";
import { historyHeaders } from "@/routes/history_headers.ts";
import { type ListStreams, mapPages } from "@/routes/list_stream.ts";
import { queryInt, validate } from "@/routes/validation.ts";
import { conversationName, inboxMessage, inboxUser } from "./json.ts";
import { inboxDocs as docs } from "./openapi.ts";

const page = z.object({
  before: queryInt.optional(),
  after: queryInt.optional(),
  limit: queryInt.optional(),
});

/** Conversation pages beyond the spec: `?limit=n`, then the `cursor` the Link header gives. */
const conversationPage = z.object({
  limit: queryInt.pipe(z.number().min(1).max(LIMITS.historyPage)).optional(),
  cursor: z.string().regex(/^\d{1,15}\.\d{1,15}$/, "Enter a cursor from a Link header.")
    .optional(),
});

export interface InboxRoutesOptions {
  lists: ListStreams;
  /** Base of absolute URLs (PUBLIC_URL); the request's origin when unset. */
  publicUrl?: string;
}

export function inboxRoutes(core: Core, { lists, publicUrl }: InboxRoutesOptions) {
  const auth = requireAuth(core);
  const baseUrl = (req: Request) => publicUrl ?? new URL(req.url).origin;

  async function peopleOf(ids: number[]): Promise<Map<number, User>> {
    return new Map((await core.accounts.getMany(ids)).map((u) => [u.id, u]));
  }

  async function attachmentsOf(messages: Message[]): Promise<Map<number, Attachment>> {
    const ids = messages.map((m) => m.attachmentId).filter((id): id is number => id !== null);
    return ids.length === 0 ? new Map() : await core.uploads.views(ids);
  }

  /** One page of conversations, each with its other person and last message. */
  async function shapeConversations(base: string, me: User, rooms: Room[]) {
    const last = await core.messages.lastMessagesOf(rooms);
    const people = await peopleOf(rooms.flatMap((r) => r.pair ?? []));
    people.set(me.id, me);
    const attachments = await attachmentsOf([...last.values()]);
    return rooms.map((room) => {
      const other = people.get(otherMember(room, me.id)!);
      const message = last.get(room.id);
      return {
        id: room.id,
        name: conversationName(room, people),
        other_user: other ? inboxUser(base, other) : null,
        last_message: message
          ? inboxMessage(base, message, room, people, attachments.get(message.attachmentId ?? 0))
          : null,
      };
    });
  }

  return new Hono<AppEnv>()
    .get(
      "/api/conversations",
      docs.conversations,
      auth,
      validate("query", conversationPage),
      async (c) => {
        const me = c.get("principal").user;
        const base = baseUrl(c.req.raw);
        const { limit, cursor } = c.req.valid("query");
        if (limit === undefined && cursor === undefined) {
          // Every conversation, most recent first, streamed a page at a time.
          const pages = mapPages(
            core.rooms.pagesForUser(me.id, "direct"),
            (rooms) => shapeConversations(base, me, rooms),
          );
          return lists.respond(c, "inbox_conversations", pages);
        }
        const size = limit ?? LIMITS.historyDefaultPage;
        const [at, id] = (cursor ?? "").split(".").map(Number);
        const after = cursor === undefined ? undefined : { lastActivityAt: at, id };
        let rooms: Room[] = [];
        for await (const page of core.rooms.pagesForUser(me.id, "direct", { after, max: size })) {
          rooms = rooms.concat(page);
        }
        const last = rooms.at(-1);
        if (rooms.length === size && last) {
          const next = `${c.req.path}?limit=${size}&cursor=${last.lastActivityAt}.${last.id}`;
          c.header("Link", `<${next}>; rel="next"`);
        }
        return c.json(await shapeConversations(base, me, rooms));
      },
    )
    .get(
      "/api/rooms/:username/messages",
      docs.messages,
      auth,
      validate("query", page),
      async (c) => {
        const me = c.get("principal").user;
        const base = baseUrl(c.req.raw);
        const { room, other } = await core.rooms.directByUsername(me.id, c.req.param("username"));
        const people = new Map([[me.id, me], [other.id, other]]);
        const shape = async (messages: Message[]) => {
          const attachments = await attachmentsOf(messages);
          return messages.map((m) =>
            inboxMessage(base, m, room, people, attachments.get(m.attachmentId ?? 0))
          );
        };
        const query = c.req.valid("query");
        if (query.before !== undefined || query.after !== undefined || query.limit !== undefined) {
          const { messages } = await core.messages.history(room.id, me.id, query);
          return c.json({ messages: await shape(messages) });
        }
        // Without paging parameters: everything (up to HISTORY_MAX), oldest first, streamed.
        const history = await core.messages.historySnapshot(room.id, me.id);
        const headers = historyHeaders(c.req.path, history);
        return lists.respond(
          c,
          "inbox_messages",
          mapPages(history.pages, shape),
          headers,
          "messages",
        );
      },
    )
    .get("/api/userauth/users/:id{[0-9]+}/", docs.user, auth, async (c) => {
      const user = await core.accounts.get(Number(c.req.param("id")));
      return c.json(inboxUser(baseUrl(c.req.raw), user));
    });
}
