// The live face (specs/live.md): rooms between an owner and an abonent over REST. A room is the
// core's direct room of the two (lib/conversations.ts holds its rules); the caller is always the
// token's user: ids in bodies are checked against it, never trusted instead of it.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import type { Metrics } from "@/lib/metrics.ts";
import { PermissionDenied, ValidationError } from "@/lib/errors.ts";
import type { User } from "@/lib/records.ts";
import { type AppEnv, requireAuth } from "@/routes/context.ts";
import { validate } from "@/routes/validation.ts";
import { liveRoom, liveRoomList } from "./json.ts";
import { liveDocs as docs } from "./openapi.ts";

/** Rooms a list shows (the most recently active) and online ids it names, at most. */
const MAX_ROOMS = 200;
const MAX_ONLINE_IDS = 1000;

/** An id as the original's clients send them: a number, or a string of digits. */
const id = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d{1,15}$/, "A valid integer is required.").transform(Number),
]);

const addRoom = z.object({ owner: id, abonent: id });

const sendMessage = z.object({
  /** The sender as the original's client described it; only its id is looked at. */
  author: z.looseObject({ id: id.optional() }).optional(),
  room_id: id,
  message: z.string(),
  created: z.string().max(64).optional(),
});

/** `metrics` counts the messages sent here (messages committed, face "live"). */
export function liveRoutes(core: Core, metrics?: Metrics) {
  const auth = requireAuth(core);

  /** Everything GET /room/list shows for `viewer`. */
  async function roomList(viewer: User) {
    const views = await core.conversations.list(viewer.id, MAX_ROOMS);
    const people = new Map(
      (await core.accounts.getMany([viewer.id, ...views.map((v) => v.otherId)]))
        .map((u) => [u.id, u]),
    );
    const online = core.presence.onlineIds().slice(0, MAX_ONLINE_IDS);
    return liveRoomList(viewer, views, people, online);
  }

  const roomId = (param: string) => Number(param);

  const sending = new Hono<AppEnv>().post(
    "/",
    docs.send,
    auth,
    validate("json", sendMessage),
    async (c) => {
      const caller = c.get("principal").user;
      const body = c.req.valid("json");
      if (body.author?.id !== undefined && body.author.id !== caller.id) {
        throw new PermissionDenied("not_author");
      }
      try {
        await core.conversations.send(body.room_id, caller.id, body.message);
        metrics?.messagesCommitted.inc({ face: "live" });
      } catch (error) {
        throw error instanceof ValidationError ? error.renamed({ text: "message" }) : error;
      }
      return c.json(liveRoom(await core.conversations.view(body.room_id, caller.id)));
    },
  );

  return new Hono<AppEnv>()
    .post("/room/add", docs.addRoom, auth, validate("json", addRoom), async (c) => {
      const caller = c.get("principal").user;
      const { owner, abonent } = c.req.valid("json");
      const room = await core.conversations.open(caller.id, owner, abonent);
      return c.json(liveRoom(await core.conversations.view(room.id, owner)));
    })
    .get(
      "/room/list",
      docs.list,
      auth,
      async (c) => c.json(await roomList(c.get("principal").user)),
    )
    // Sending: the document names POST /room/list, the original served POST /room/message.
    .route("/room/list", sending)
    .route("/room/message", sending)
    .get("/room/select/:id{[0-9]+}", docs.select, auth, async (c) => {
      const caller = c.get("principal").user;
      await core.conversations.select(roomId(c.req.param("id")), caller.id);
      return c.json(await roomList(caller));
    })
    .get("/room/stop/:id{[0-9]+}", docs.stop, auth, async (c) => {
      await core.conversations.suspend(roomId(c.req.param("id")), c.get("principal").user.id);
      return c.json({ status: 0, message: "Ok" });
    })
    .get("/webrtc/cameraOn", docs.cameraOn, auth, async (c) => {
      await core.accounts.updateProfile(c.get("principal").user.id, { cameraOn: true });
      return c.json({ camera_on: "ok" });
    })
    .get("/webrtc/cameraOff", docs.cameraOff, auth, async (c) => {
      await core.accounts.updateProfile(c.get("principal").user.id, { cameraOn: false });
      return c.json({ camera_off: "ok" });
    });
}
