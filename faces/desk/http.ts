// The desk face over HTTP (specs/desk.md): SimpleJWT's token endpoints, the room list, room
// creation and a room's messages. Rules live in core.desk; this file only translates.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import type { Room } from "@/lib/records.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type AppEnv, clientAddress, requireAuth } from "@/routes/context.ts";
import { deskMessage, deskRoom, peopleOf } from "./json.ts";
import { deskDocs as docs } from "./openapi.ts";
import { historyHeaders } from "@/routes/history_headers.ts";
import { type ListStreams, mapPages } from "@/routes/list_stream.ts";
import { tokenRefreshRoute } from "@/routes/token_refresh.ts";
import { queryInt, validate } from "@/routes/validation.ts";

const credentials = z.object({
  username: z.string().min(1).max(LIMITS.login),
  password: z.string().min(1).max(LIMITS.password),
});

const newRoom = z.object({
  text: z.string().max(LIMITS.topic).default(""),
  image: z.string().max(LIMITS.image).default(""),
});

const messagePage = z.object({
  before: queryInt.optional(),
  limit: queryInt.optional(),
});

export interface DeskRoutesOptions {
  /** Streams whole histories. */
  lists: ListStreams;
  /** Base of absolute image URLs (PUBLIC_URL); the origin the client used when unset. */
  publicUrl?: string;
}

/** The desk face's REST routes. */
export function deskRoutes(core: Core, { lists, publicUrl }: DeskRoutesOptions) {
  const baseUrl = (req: Request) => publicUrl ?? new URL(req.url).origin;
  const auth = requireAuth(core, { cookie: true });

  async function shapeRooms(rooms: Room[], base: string) {
    const people = new Map((await core.accounts.getMany(peopleOf(rooms))).map((u) => [u.id, u]));
    return rooms.map((room) => deskRoom(room, people, base));
  }

  return new Hono<AppEnv>()
    .post("/api/token/", docs.token, validate("json", credentials), async (c) => {
      const { username, password } = c.req.valid("json");
      const { access, refresh } = await core.accounts.login(username, password, clientAddress(c));
      return c.json({ access, refresh });
    })
    .route("/", tokenRefreshRoute(core, "/api/token/refresh/", "desk"))
    .get("/api/room/", docs.rooms, auth, async (c) => {
      const rooms = await core.desk.listFor(c.get("principal").user);
      return c.json(await shapeRooms(rooms, baseUrl(c.req.raw)));
    })
    .post("/api/room/", docs.openRoom, auth, validate("json", newRoom), async (c) => {
      const { text, image } = c.req.valid("json");
      const room = await core.desk.open(c.get("principal").user.id, text, image);
      const [shaped] = await shapeRooms([room], baseUrl(c.req.raw));
      return c.json(shaped, 201);
    })
    .get(
      "/api/:room{[0-9]+}/messages/",
      docs.messages,
      auth,
      validate("query", messagePage),
      async (c) => {
        const roomId = Number(c.req.param("room"));
        const userId = c.get("principal").user.id;
        const { before, limit } = c.req.valid("query");
        if (before !== undefined || limit !== undefined) {
          const page = await core.desk.history(roomId, userId, { before, limit });
          return c.json(page.messages.map(deskMessage));
        }
        // Without paging parameters: everything (up to HISTORY_MAX), streamed page by page.
        const history = await core.desk.historySnapshot(roomId, userId);
        const shaped = mapPages(history.pages, (page) => page.map(deskMessage));
        return lists.respond(c, "desk_messages", shaped, historyHeaders(c.req.path, history));
      },
    );
}
