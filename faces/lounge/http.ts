// The lounge face over HTTP, under /http (specs/lounge.md): login and logout, users and
// profile, room chats, groups and notifications. Sign-up and bot chat are in signup.ts and
// bot.ts; its socket, /socket, is socket.ts. GET fields come from the query or a JSON body
// (fields.ts); tokens from `authentication`, or `Authorization` bare or Bearer.
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { NotFound } from "@/lib/errors.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type Message, otherMember, type Room } from "@/lib/records.ts";
import { type AppEnv, clientAddress, requireAuth } from "@/routes/context.ts";
import type { ListStreams } from "@/routes/list_stream.ts";
import { mapPages } from "@/routes/list_stream.ts";
import { iso } from "@/routes/json.ts";
import { flag, idField, pageFields, readFields } from "./fields.ts";
import {
  botMessage,
  groupMessage,
  loungeGroup,
  loungeProfile,
  loungeUser,
  roomMessage,
} from "./json.ts";
import { loungeSignupRoutes } from "./signup.ts";
import { loungeDocs } from "./openapi.ts";
import { WORDS } from "./wording.ts";

const login = z.object({
  email: z.string().min(1).max(LIMITS.login),
  password: z.string().min(1).max(LIMITS.password),
});
const name = z.string().max(LIMITS.name);
const profileChanges = z.object({
  first_name: name.optional(),
  last_name: name.optional(),
  password: z.string().min(1).max(LIMITS.password).optional(),
});
const newGroup = z.object({ name: z.string().trim().min(1).max(LIMITS.roomName) });
const groupRename = z.object({
  chat_group_id: idField.optional(),
  name: z.string().trim().min(1).max(LIMITS.roomName),
});
const entering = z.object({ is_enter: flag });
/** Which conversation to mark read: the spec's two keys, or the original's `chat_id`+`is_room`. */
const readMark = z.object({
  chat_room_id: idField.optional(),
  chat_group_id: idField.optional(),
  chat_id: idField.optional(),
  is_room: flag.optional(),
  /** The bot chat has no id of its own on this face. */
  chat_bot: flag.optional(),
}).refine(
  (b) =>
    b.chat_room_id !== undefined || b.chat_group_id !== undefined || b.chat_id !== undefined ||
    b.chat_bot === true,
  { message: "Give chat_room_id, chat_group_id or chat_bot.", path: ["chat_room_id"] },
);

const docs = loungeDocs({
  login,
  profileChanges,
  newGroup,
  groupRename,
  entering,
  readMark,
  pageFields,
});

export interface LoungeRoutesOptions {
  lists: ListStreams;
  /** Base of the sign-up link (PUBLIC_URL); the request's origin when unset. */
  publicUrl?: string;
}

export function loungeRoutes(core: Core, { lists, publicUrl }: LoungeRoutesOptions) {
  const auth = requireAuth(core);
  const online = (id: number) => core.presence.isOnline(id);
  const me = (c: { get(key: "principal"): { user: { id: number } } }) => c.get("principal").user.id;

  /** Of a page of a user's direct rooms, those with a person (not the bot), with the other's id. */
  async function personRooms(userId: number, rooms: Room[]) {
    const others = rooms.map((room) => otherMember(room, userId)).filter((id) => id !== undefined);
    const bots = new Set(
      (await core.accounts.getMany(others)).filter((u) => u.isBot).map((u) => u.id),
    );
    return rooms.flatMap((room) => {
      const other = otherMember(room, userId);
      return other === undefined || bots.has(other) ? [] : [{ room, other }];
    });
  }

  /** A direct room by id, or NotFound when the id names another kind. */
  async function directRoom(id: number): Promise<Room> {
    const room = await core.rooms.get(id);
    if (room.kind !== "direct") throw new NotFound();
    return room;
  }

  const shapeRooms = (messages: Message[]) => messages.map(roomMessage);

  async function renameGroup(c: Context<AppEnv>) {
    const fields = await readFields(c, groupRename);
    const param = c.req.param("id");
    const id = fields.chat_group_id ?? (param === undefined ? undefined : Number(param));
    if (id === undefined) {
      return c.json({ chat_group_id: ["This field is required."] }, 400);
    }
    // Only its owner may rename it (403 otherwise): the core decides.
    const room = await core.groups.update(id, me(c), { name: fields.name });
    return c.json(loungeGroup(room, await core.groups.isMember(room.id, me(c))));
  }

  return new Hono<AppEnv>()
    .route("/", loungeSignupRoutes(core, { publicUrl }))
    // Login and logout by POST (the document) or GET (the original server registered both).
    .on(["GET", "POST"], "/login", docs.login, async (c) => {
      const { email, password } = await readFields(c, login);
      const { access, user } = await core.accounts.login(email, password, clientAddress(c));
      return c.json({ token: access, user_id: user.id });
    })
    .on(["GET", "POST"], "/logout", docs.logout, auth, async (c) => {
      const { user, sessionId } = c.get("principal");
      // Its sockets on this session close (4401); presence then tells the others.
      await core.tokens.endSession(user.id, sessionId);
      return c.json({ detail: WORDS.loggedOut });
    })
    .get("/users", docs.users, auth, (c) => {
      const pages = mapPages(
        core.accounts.activePages(),
        (users) => users.filter((u) => !u.isBot).map((u) => loungeUser(u, online(u.id))),
      );
      return lists.respond(c, "lounge_users", pages);
    })
    .get(
      "/users/profile",
      docs.profile,
      auth,
      (c) => c.json(loungeProfile(c.get("principal").user)),
    )
    .put("/users/profile", docs.updateProfile, auth, async (c) => {
      const changes = await readFields(c, profileChanges);
      const { user, sessionId } = c.get("principal");
      let updated = user;
      if (changes.first_name !== undefined || changes.last_name !== undefined) {
        // Told to everyone as user.updated (user_update on the socket).
        updated = await core.accounts.updateProfile(user.id, {
          firstName: changes.first_name?.trim(),
          lastName: changes.last_name?.trim(),
        });
      }
      if (changes.password !== undefined) {
        // Every other session ends; this one stays.
        await core.accounts.changePassword(user.id, changes.password, sessionId);
      }
      return c.json(loungeProfile(updated));
    })
    .get("/users/group/:id{[0-9]+}", docs.groupMembers, auth, async (c) => {
      const members = await core.groups.members(Number(c.req.param("id")));
      const people = await core.accounts.getMany(members.map((m) => m.userId));
      const byId = new Map(people.map((u) => [u.id, u]));
      return c.json(members.flatMap((m) => {
        const user = byId.get(m.userId);
        return user ? [loungeUser(user, online(user.id))] : [];
      }));
    })
    .get("/chat_bot", docs.botChat, auth, async (c) => {
      const { timestamp, before } = await readFields(c, pageFields);
      const userId = me(c);
      const room = await core.botChat.room(userId);
      const page = await core.messages.pageByTime(room.id, userId, {
        time: timestamp,
        before: before ?? false,
      });
      return c.json(page.messages.map((m) => botMessage(m, userId)));
    })
    .get("/chat_rooms", docs.rooms, auth, async (c) => {
      const userId = me(c);
      const unread = await core.messages.unreadByRoom(userId);
      // Every room, most recent first, streamed a page at a time.
      const pages = mapPages(
        core.rooms.pagesForUser(userId, "direct"),
        async (page) =>
          (await personRooms(userId, page)).map(({ room, other }) => ({
            chat_room_id: room.id,
            other_user_id: other,
            last_activity: iso(room.lastActivityAt),
            unread: unread.get(room.id) ?? 0,
          })),
      );
      return lists.respond(c, "lounge_rooms", pages);
    })
    .get("/chat_rooms/:id{[0-9]+}", docs.roomMessages, auth, async (c) => {
      const { timestamp, before } = await readFields(c, pageFields);
      const room = await directRoom(Number(c.req.param("id")));
      const page = await core.messages.pageByTime(room.id, me(c), {
        time: timestamp,
        before: before ?? false,
      });
      return c.json(shapeRooms(page.messages));
    })
    .get("/chat_groups", docs.groups, auth, async (c) => {
      const userId = me(c);
      const groups = await core.groups.list();
      const mine = new Set((await core.rooms.listForUser(userId, "group")).map((r) => r.id));
      return c.json(groups.map((room) => loungeGroup(room, mine.has(room.id))));
    })
    .post("/chat_groups", docs.createGroup, auth, async (c) => {
      const { name } = await readFields(c, newGroup);
      // Told to everyone as room.created (group_chat_update on the socket).
      const room = await core.groups.create(me(c), { name, roomType: "chat" });
      return c.json(loungeGroup(room, true), 201);
    })
    // The id in the path, or (the original client) in the body: two routes, one handler.
    .put("/chat_groups", docs.renameGroup, auth, renameGroup)
    .put("/chat_groups/:id{[0-9]+}", docs.renameGroup, auth, renameGroup)
    .get("/chat_groups/:id{[0-9]+}", docs.groupMessages, auth, async (c) => {
      const { timestamp, before } = await readFields(c, pageFields);
      const page = await core.groups.pageByTime(Number(c.req.param("id")), {
        time: timestamp,
        before: before ?? false,
      });
      return c.json(page.messages.map(groupMessage));
    })
    .post("/chat_groups/:id{[0-9]+}", docs.enterGroup, auth, async (c) => {
      const { is_enter } = await readFields(c, entering);
      const id = Number(c.req.param("id"));
      const room = is_enter
        ? await core.groups.enter(id, me(c))
        : await core.groups.leave(id, me(c));
      return c.json(loungeGroup(room, is_enter));
    })
    .get("/notifications", docs.notifications, auth, async (c) => {
      const userId = me(c);
      const unread = await core.messages.unreadByRoom(userId);
      if (unread.size === 0) return c.json([]);
      const rooms = (await core.rooms.listForUser(userId)).filter((r) => unread.has(r.id));
      const others = rooms.map((r) => otherMember(r, userId)).filter((id) => id !== undefined);
      const bots = new Set(
        (await core.accounts.getMany(others)).filter((u) => u.isBot).map((u) => u.id),
      );
      return c.json(rooms.flatMap((room): Record<string, unknown>[] => {
        const count = unread.get(room.id) ?? 0;
        if (room.kind === "group") {
          return [{ chat_type: "group", chat_group_id: room.id, unread: count }];
        }
        if (room.kind !== "direct") return [];
        const other = otherMember(room, userId)!;
        if (bots.has(other)) return [{ chat_type: "bot", chat_room_id: room.id, unread: count }];
        return [{ chat_type: "room", chat_room_id: room.id, other_user_id: other, unread: count }];
      }));
    })
    .put("/notifications", docs.markRead, auth, async (c) => {
      const mark = await readFields(c, readMark);
      const userId = me(c);
      if (mark.chat_room_id === undefined && mark.chat_group_id === undefined && !mark.chat_id) {
        const room = await core.botChat.room(userId);
        await core.messages.markRead(room.id, userId);
        return c.json({ chat_bot: true, unread: 0 });
      }
      const roomId = mark.chat_room_id ?? mark.chat_group_id ?? mark.chat_id!;
      const isGroup = mark.chat_group_id !== undefined ||
        (mark.chat_id !== undefined && mark.is_room === false);
      const room = isGroup ? await core.groups.get(roomId) : await directRoom(roomId);
      await core.messages.markRead(room.id, userId);
      const key = isGroup ? "chat_group_id" : "chat_room_id";
      return c.json({ [key]: room.id, unread: 0 });
    });
}
