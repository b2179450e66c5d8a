// The lounge face's socket frames for the AsyncAPI document: what clients send is checked by
// socket.ts's schemas (initFrame, chatFrame); these schemas describe what the server sends.
import { z } from "zod";
import type { RealtimeChannel } from "@/realtime/asyncapi.ts";
import { chatFrame, initFrame } from "./socket.ts";

const id = z.number().int();
const message = z.object({ user_id: id, message: z.string(), timestamp: z.string() });
const bot = z.object({ is_user: z.boolean(), message: z.string(), timestamp: z.string() });
const error = z.object({
  type: z.literal("error"),
  code: z.string(),
  detail: z.string(),
  retry_after: z.number().optional(),
  errors: z.record(z.string(), z.array(z.string())).optional(),
});

export const loungeChannel: RealtimeChannel = {
  id: "loungeSocket",
  face: "lounge",
  address: "/socket",
  transport: "websocket",
  title: "lounge: rooms, groups, bot chat and who is online",
  description: "The first frame names the user (`{token}`), within LOUNGE_INIT_TIMEOUT; " +
    "every later frame carries the token too. Closes with 4401 on sign-out.",
  receive: {
    init: { schema: initFrame, summary: "The first frame: who this socket is" },
    chat: { schema: chatFrame, summary: "A message to a room (`other_user_id`), group or bot" },
  },
  send: {
    room_chat_message: {
      schema: message.extend({ type: z.literal("room_chat_message"), chat_room_id: id }),
      summary: "A message in one of the user's rooms",
    },
    group_chat_message: {
      schema: message.extend({ type: z.literal("group_chat_message"), chat_group_id: id }),
      summary: "A message in one of the user's groups",
    },
    bot_chat_message: {
      schema: z.object({ type: z.literal("bot_chat_message"), messages: z.array(bot) }),
      summary: "The question and the bot's answer",
    },
    user_activity: {
      schema: z.object({ type: z.literal("user_activity"), user_id: id, login: z.boolean() }),
      summary: "Someone came online or left",
    },
    user_update: {
      schema: z.object({
        type: z.literal("user_update"),
        user_id: id,
        first_name: z.string(),
        last_name: z.string(),
      }),
      summary: "Someone changed their name",
    },
    group_chat_update: {
      schema: z.object({
        type: z.literal("group_chat_update"),
        chat_group_id: id,
        name: z.string(),
        owner_id: id.nullable(),
      }),
      summary: "A group was created or renamed",
    },
    group_chat_activitity: {
      schema: z.object({
        type: z.literal("group_chat_activitity"),
        chat_group_id: id,
        user_id: id,
        is_enter: z.boolean(),
        message: z.string(),
      }),
      summary: "Someone entered or left a group (the original's spelling)",
    },
    error: { schema: error, summary: "A refused frame" },
  },
};
