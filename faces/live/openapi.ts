// What the OpenAPI document says about the live face's routes: summaries and response shapes
// (json.ts builds the bodies). Requests come from http.ts's zod schemas.
import { z } from "zod";
import { FORBIDDEN, jsonResponse, NOT_FOUND, operation } from "@/routes/openapi.ts";

const doc = operation("live");

const id = z.number().int();
const message = z.object({
  id,
  message: z.string(),
  author_id: id,
  created: z.string(),
  is_readed: z.boolean(),
});
const room = z.object({
  abonent_id: id,
  id,
  is_current: z.boolean(),
  is_active: z.boolean(),
  is_low_account: z.boolean(),
  activity: z.number().describe("epoch seconds"),
  messages: z.record(z.string(), message).describe("keyed by message id"),
}).meta({ id: "LiveRoom" });
const user = z.object({
  id,
  account: z.string().describe("balance, a decimal as text"),
  language: z.string(),
  gender: z.string(),
  username: z.string(),
  email: z.string(),
  groups: z.array(z.string()),
  is_superuser: z.boolean(),
  main_photo: z.string(),
  middle_photo: z.string(),
  is_online: z.boolean(),
  is_camera: z.boolean(),
});
const roomList = z.object({
  contact_users: z.record(z.string(), user),
  contacts_ids: z.array(id),
  current_room: id.nullable(),
  online_ids: z.array(id),
  room_ids: z.array(id),
  rooms: z.record(z.string(), room),
});

export const liveDocs = {
  addRoom: doc({
    summary: "Open (or find) the room of an owner and an abonent; the caller is one of them",
    responses: { 200: jsonResponse("The room", room), 403: FORBIDDEN, 404: NOT_FOUND },
  }),
  list: doc({
    summary: "The caller's rooms, contacts and who is online",
    responses: { 200: jsonResponse("Rooms and contacts", roomList) },
  }),
  send: doc({
    summary: "Send a message to a room (POST /room/list in the document; /room/message)",
    responses: { 200: jsonResponse("The room", room), 403: FORBIDDEN, 404: NOT_FOUND },
  }),
  select: doc({
    summary: "Make a room the current one",
    responses: { 200: jsonResponse("Rooms and contacts", roomList), 404: NOT_FOUND },
  }),
  stop: doc({
    summary: "Suspend a room",
    responses: {
      200: jsonResponse("Done", z.object({ status: z.number(), message: z.string() })),
      404: NOT_FOUND,
    },
  }),
  cameraOn: doc({
    summary: "Say the camera is on (shown on every face that lists people)",
    responses: { 200: jsonResponse("Done", z.object({ camera_on: z.string() })) },
  }),
  cameraOff: doc({
    summary: "Say the camera is off",
    responses: { 200: jsonResponse("Done", z.object({ camera_off: z.string() })) },
  }),
};
