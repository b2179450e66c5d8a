// The meet face's WebSocket frames for the AsyncAPI document: what clients send is checked by
// socket.ts's schema (meetInbound); these schemas describe what the server sends.
import { z } from "zod";
import type { RealtimeChannel } from "@/realtime/asyncapi.ts";
import { meetInbound } from "./socket.ts";

const [signalIn, chatIn] = meetInbound.options;

const chat = z.object({
  id: z.number().int(),
  user: z.object({ id: z.number().int(), email: z.string(), name: z.string() }).nullable(),
  content: z.string(),
  created_at: z.string(),
  client_id: z.string().optional(),
});
const signal = z.looseObject({
  type: signalIn.shape.type,
  sender_id: z.number().int(),
});
const error = z.object({
  type: z.literal("error"),
  code: z.literal("throttled"),
  detail: z.string(),
  retry_after: z.number(),
});

export const meetChannel: RealtimeChannel = {
  id: "meetChat",
  face: "meet",
  address: "/ws/chat/{id}/",
  transport: "websocket",
  title: "meet: a room's chat and video signalling",
  description: "Opening it enters the room. Chat messages are committed, then sent to every " +
    "socket of the room; WebRTC signals are relayed to the others (or to `target`). Frames " +
    "that are not valid are dropped without a word; only throttling is answered.",
  parameters: { id: "The room's id" },
  receive: {
    chat: { schema: chatIn, summary: "Say something (`client_id` makes a retry safe)" },
    signal: { schema: signalIn, summary: "A WebRTC offer, answer, ICE candidate or hang-up" },
  },
  send: {
    chat: { schema: chat, summary: "A message of the room, in commit order" },
    signal: { schema: signal, summary: "A relayed signal, with who sent it" },
    error: { schema: error, summary: "Slow down" },
  },
};
