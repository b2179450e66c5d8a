// The inbox face's WebSocket frames for the AsyncAPI document: what clients send is checked by
// socket.ts's schema (inboxInbound); these schemas describe what the server sends.
import { z } from "zod";
import type { RealtimeChannel } from "@/realtime/asyncapi.ts";
import { inboxInbound } from "./socket.ts";

const [chatIn, readIn] = inboxInbound.options;

const chat = z.object({
  type: z.literal("chat_message"),
  id: z.number().int(),
  message: z.string(),
  multimedia_url: z.string(),
  date_added: z.string(),
  from_user: z.object({ username: z.string() }),
  room: z.string().describe("the receiver's username"),
  client_id: z.string().optional(),
});
const onlineList = z.object({ type: z.literal("online_user_list"), users: z.array(z.string()) });
const joined = z.object({ type: z.enum(["user_join", "user_leave"]), user: z.string() });
const error = z.object({
  type: z.literal("error"),
  detail: z.string(),
  retry_after: z.number().optional(),
});
const count = (type: string) => z.object({ type: z.literal(type), unread_count: z.number().int() });
const nudge = (type: string) => z.object({ type: z.literal(type) });

export const inboxChannels: RealtimeChannel[] = [
  {
    id: "inboxConversation",
    face: "inbox",
    address: "/ws/{username}/",
    transport: "websocket",
    title: "inbox: the conversation with a person",
    description: "Opening it lists who of the two is online, then tells both `user_join`.",
    parameters: { username: "The other person's username" },
    receive: {
      chat_message: {
        schema: chatIn,
        summary: "Send a message (an upload's `file_identifier` attaches it)",
      },
      read_messages: { schema: readIn, summary: "Mark the conversation read" },
    },
    send: {
      chat_message: { schema: chat, summary: "A message of the conversation" },
      online_user_list: { schema: onlineList, summary: "Who of the two is online, on opening" },
      user_presence: { schema: joined, summary: "A person opened or closed the conversation" },
      error: { schema: error, summary: "A refused frame" },
    },
  },
  {
    id: "inboxConversationCount",
    face: "inbox",
    address: "/ws/notifications/{username}/",
    transport: "websocket",
    title: "inbox: unread count of one conversation",
    description: "Takes no frames; sends the count and a nudge when the other person writes.",
    parameters: { username: "The other person's username" },
    receive: {},
    send: {
      single_conversation_unread_count: {
        schema: count("single_conversation_unread_count"),
        summary: "The unread count, when it changes",
      },
      single_conversation_new_message_notification: {
        schema: nudge("single_conversation_new_message_notification"),
        summary: "The other person wrote",
      },
      error: { schema: error, summary: "A refused frame" },
    },
  },
  {
    id: "inboxNotifications",
    face: "inbox",
    address: "/ws/notifications/",
    transport: "websocket",
    title: "inbox: unread count over every room",
    description: "Takes no frames; sends the total unread count and a nudge per new message.",
    receive: {},
    send: {
      unread_count: { schema: count("unread_count"), summary: "The total, when it changes" },
      new_message_notification: {
        schema: nudge("new_message_notification"),
        summary: "Someone wrote",
      },
      error: { schema: error, summary: "A refused frame" },
    },
  },
];
