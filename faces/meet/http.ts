// The meet face over HTTP: accounts under /auth/ (and /api/auth/, where the original front-end's
// later versions call them) and rooms under /api/rooms/ (a room's messages in history.ts). Its
// WebSocket, /ws/chat/{id}/, is in socket.ts.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import type { Room, User } from "@/lib/records.ts";
import { splitName } from "@/lib/records.ts";
import { displayName } from "@/routes/wording.ts";
import { LIMITS } from "@/lib/limits.ts";
import { iso } from "@/routes/json.ts";
import { meetUser } from "./json.ts";
import { meetDocs as docs } from "./openapi.ts";
import { meetHistoryRoutes, type MeetMessagesShape } from "./history.ts";
import { type AppEnv, clientAddress, requireAuth } from "@/routes/context.ts";
import type { ListStreams } from "@/routes/list_stream.ts";
import { tokenRefreshRoute } from "@/routes/token_refresh.ts";
import { validate } from "@/routes/validation.ts";

/** A full name, stored as first name (first word) and last name (the rest), LIMITS.name each. */
const fullName = z.string().trim().min(1).max(LIMITS.name * 2 + 1).refine((name) => {
  const { firstName, lastName } = splitName(name);
  return firstName.length <= LIMITS.name && lastName.length <= LIMITS.name;
}, `Ensure each part of the name has no more than ${LIMITS.name} characters.`);

/** The original front-end's words when the confirmation differs (its serializer's). */
const PASSWORDS_DIFFER = "Passwords do not match.";

const registration = z.object({
  email: z.email().max(LIMITS.email),
  name: fullName,
  password: z.string().min(1).max(LIMITS.password),
  /** Optional: the document's clients do not send it, the original front-end does. */
  confirm_password: z.string().max(LIMITS.password).optional(),
}).refine(
  (body) => body.confirm_password === undefined || body.confirm_password === body.password,
  {
    message: PASSWORDS_DIFFER,
    path: ["confirm_password"],
    // Like DRF's validate(): compared only once every field is valid on its own.
    when: (payload) => payload.issues.length === 0,
  },
);
const login = z.object({
  email: z.string().min(1).max(LIMITS.login),
  password: z.string().min(1).max(LIMITS.password),
});
const logoutBody = z.object({ refresh: z.string().min(1).max(LIMITS.token).optional() }).optional();
const profilePatch = z.object({ name: fullName.optional() });
const roomType = z.enum(["chat", "video"]);
const newRoom = z.object({
  name: z.string().trim().min(1).max(LIMITS.roomName),
  description: z.string().max(LIMITS.roomDescription).default(""),
  room_type: roomType,
});
const roomPatch = z.object({
  name: z.string().trim().min(1).max(LIMITS.roomName).optional(),
  description: z.string().max(LIMITS.roomDescription).optional(),
});
const roomFilter = z.object({
  room_type: roomType.optional(),
  search: z.string().max(LIMITS.roomSearch).optional(),
});

function profile(user: User) {
  return {
    id: user.id,
    email: user.email ?? "",
    name: displayName(user),
    date_joined: iso(user.dateJoined),
  };
}

export interface MeetRoutesOptions {
  /** Streams whole histories. */
  lists: ListStreams;
  /** The room history's shape (MEET_MESSAGES_SHAPE). */
  messagesShape: MeetMessagesShape;
}

export function meetRoutes(core: Core, { lists, messagesShape }: MeetRoutesOptions) {
  const auth = requireAuth(core);

  async function shapeRooms(rooms: Room[]) {
    const ids = rooms.map((r) => r.createdBy).filter((id): id is number => id !== null);
    const people = new Map((await core.accounts.getMany(ids)).map((u) => [u.id, u]));
    return rooms.map((room) => {
      const creator = room.createdBy === null ? undefined : people.get(room.createdBy);
      return {
        id: room.id,
        name: room.name,
        description: room.description,
        creator: creator ? meetUser(creator) : null,
        room_type: room.roomType,
        created_at: iso(room.createdAt),
        is_active: room.isActive,
      };
    });
  }

  const roomId = (param: string) => Number(param);

  // Accounts, mounted at /auth/ (the document) and /api/auth/ (the original front-end).
  const accounts = new Hono<AppEnv>()
    .post("/register/", docs.register, validate("json", registration), async (c) => {
      const { confirm_password: _, ...input } = c.req.valid("json");
      const user = await core.accounts.register(input, clientAddress(c));
      return c.json(profile(user), 201);
    })
    .post("/login/", docs.login, validate("json", login), async (c) => {
      const { email, password } = c.req.valid("json");
      const { access, refresh } = await core.accounts.login(email, password, clientAddress(c));
      return c.json({ access, refresh });
    })
    .route("/", tokenRefreshRoute(core, "/token/refresh/", "meet"))
    .get("/profile/", docs.profile, auth, (c) => c.json(profile(c.get("principal").user)))
    .patch("/profile/", docs.updateProfile, auth, validate("json", profilePatch), async (c) => {
      const { name } = c.req.valid("json");
      let user = c.get("principal").user;
      if (name !== undefined) {
        user = await core.accounts.updateProfile(user.id, splitName(name));
      }
      return c.json(profile(user));
    })
    .delete("/profile/", docs.deleteProfile, auth, async (c) => {
      await core.accounts.deactivate(c.get("principal").user.id, { anonymise: true });
      return c.body(null, 204);
    })
    .post("/logout/", docs.logout, auth, async (c) => {
      const principal = c.get("principal");
      const body = c.req.header("content-type")?.includes("json")
        ? logoutBody.safeParse(await c.req.json().catch(() => undefined))
        : undefined;
      if (body?.success && body.data?.refresh) {
        await core.tokens.logoutWithRefresh(body.data.refresh).catch(() => {});
      }
      await core.tokens.endSession(principal.user.id, principal.sessionId);
      return c.json({ message: "Successfully logged out" });
    });

  return new Hono<AppEnv>()
    .route("/auth", accounts)
    .route("/api/auth", accounts)
    .get("/api/rooms/", docs.rooms, auth, validate("query", roomFilter), async (c) => {
      const { room_type, search } = c.req.valid("query");
      return c.json(await shapeRooms(await core.groups.list({ roomType: room_type, search })));
    })
    .post("/api/rooms/", docs.createRoom, auth, validate("json", newRoom), async (c) => {
      const { name, description, room_type } = c.req.valid("json");
      const room = await core.groups.create(c.get("principal").user.id, {
        name,
        description,
        roomType: room_type,
      });
      return c.json((await shapeRooms([room]))[0], 201);
    })
    .get("/api/rooms/:id{[0-9]+}/", docs.room, auth, async (c) => {
      return c.json((await shapeRooms([await core.groups.get(roomId(c.req.param("id")))]))[0]);
    })
    .patch(
      "/api/rooms/:id{[0-9]+}/",
      docs.updateRoom,
      auth,
      validate("json", roomPatch),
      async (c) => {
        const room = await core.groups.update(
          roomId(c.req.param("id")),
          c.get("principal").user.id,
          c.req.valid("json"),
        );
        return c.json((await shapeRooms([room]))[0]);
      },
    )
    .delete("/api/rooms/:id{[0-9]+}/", docs.deleteRoom, auth, async (c) => {
      await core.groups.remove(roomId(c.req.param("id")), c.get("principal").user.id);
      return c.body(null, 204);
    })
    .route("/", meetHistoryRoutes(core, lists, messagesShape));
}
