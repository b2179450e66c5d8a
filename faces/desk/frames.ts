// The desk face's Socket.IO events for the AsyncAPI document: what clients emit is checked by
// socket.ts's schemas (deskInbound); these schemas describe what the server emits.
import { z } from "zod";
import type { RealtimeChannel } from "@/realtime/asyncapi.ts";
import { deskInbound } from "./socket.ts";

const id = z.number().int();
const room = z.object({ room: id });
const message = z.object({
  id,
  text: z.string(),
  image: z.string(),
  timestamp: z.string(),
  user: id,
  room: id,
  client_id: z.string().optional(),
});
const person = z.object({
  id,
  first_name: z.string(),
  last_name: z.string(),
  email: z.string().optional(),
  image: z.string(),
});
const deskRoom = z.object({
  id,
  student: person.nullable(),
  teacher: person.nullable(),
  status: z.string(),
  timestamp: z.string(),
  text: z.string(),
  image: z.string(),
});
const refusal = z.object({
  event: z.string(),
  detail: z.string(),
  code: z.string(),
  fields: z.record(z.string(), z.array(z.string())).optional(),
  retry_after: z.number().optional(),
});

/** The default namespace at the Socket.IO path (SOCKETIO_PATH). */
export function deskChannel(path: string): RealtimeChannel {
  return {
    id: "deskSocketIo",
    face: "desk",
    address: path,
    transport: "socket.io",
    title: "desk: Socket.IO, default namespace",
    description: "Socket.IO v4 (Engine.IO polling or WebSocket). Authenticate with " +
      "`auth: {token}`, the `Authorization` header or the session cookie. Each event takes an " +
      "acknowledgement callback; a refusal comes back as `{error: {...}}` through it, or as " +
      "an `error` event when no callback was given.",
    receive: {
      join_room: {
        schema: deskInbound.join_room,
        summary: "A teacher takes a waiting room",
        ack: room.extend({ status: z.string(), joined: z.boolean() }),
      },
      close_room: {
        schema: deskInbound.close_room,
        summary: "Close a room",
        ack: room.extend({ status: z.string() }),
      },
      message: { schema: deskInbound.message, summary: "Say something in a room", ack: message },
      seen: {
        schema: deskInbound.seen,
        summary: "Mark a room read",
        ack: room.extend({ user: id, last_read_id: id.nullable() }),
      },
      new_room: {
        schema: deskInbound.new_room,
        summary: "A student announces a room opened over REST to the teachers",
        ack: deskRoom,
      },
      rooms: {
        schema: deskInbound.rooms,
        summary: "Which rooms this socket is in",
        ack: z.object({ rooms: z.array(id) }),
      },
    },
    send: {
      message: { schema: message, summary: "A message in a room the socket is in" },
      seen: { schema: room.extend({ user: id }), summary: "Someone read a room" },
      online: { schema: z.object({ user: id }), summary: "A person of the user's rooms came" },
      offline: { schema: z.object({ user: id }), summary: "A person of the user's rooms left" },
      room_joined: {
        schema: room.extend({ teacher: person.omit({ email: true }), status: z.string() }),
        summary: "A teacher took the room",
      },
      room_closed: { schema: room.extend({ status: z.string() }), summary: "A room was closed" },
      new_room: { schema: deskRoom, summary: "To teachers: a student asks for help" },
      rooms: { schema: z.object({ rooms: z.array(id) }), summary: "Answer to `rooms`" },
      error: { schema: refusal, summary: "A refused event (when it had no callback)" },
    },
  };
}
