// The AsyncAPI document at /asyncapi.json is generated from the frame schemas the sockets
// check: every inbound schema each socket uses must be there as a message that channel
// receives, every reference in the document must resolve, and frames the sockets really send
// must match the schemas the document gives for them.
import assert from "node:assert/strict";
import type { z } from "zod";
import { deskInbound } from "@/faces/desk/socket.ts";
import { inboxInbound } from "@/faces/inbox/socket.ts";
import { chatFrame, initFrame } from "@/faces/lounge/socket.ts";
import { meetInbound } from "@/faces/meet/socket.ts";
import { frameSchema } from "@/realtime/asyncapi.ts";
import { Ajv } from "ajv";
import { io } from "socket.io-client";
import {
  api,
  ask,
  chatWith,
  connected,
  createRoom,
  expectChat,
  join,
  loungeSocket,
  next,
  person,
  startTestServer,
  textFrame,
} from "../fixtures/mod.ts";

// deno-lint-ignore no-explicit-any
type Doc = any;

/** What the sockets check inbound frames with, by the channel that receives them. */
const INBOUND: Record<string, z.ZodType[]> = {
  deskSocketIo: Object.values(deskInbound),
  meetChat: [...meetInbound.options],
  inboxConversation: [...inboxInbound.options],
  loungeSocket: [initFrame, chatFrame],
};

/** Follows a local `#/a/b` reference. */
function resolve(doc: Doc, ref: string): Doc {
  return ref.slice(2).split("/").reduce((node, key) => node?.[key], doc);
}

Deno.test("every inbound frame schema the sockets use is a message its channel receives", async () => {
  await using srv = await startTestServer();
  const reply = await api(srv, "GET", "/asyncapi.json");
  assert.equal(reply.status, 200);
  const doc = reply.body;
  assert.equal(doc.asyncapi, "3.0.0");
  for (const [channelId, schemas] of Object.entries(INBOUND)) {
    const received = Object.values(doc.operations as Record<string, Doc>)
      .filter((op) => op.action === "receive" && op.channel.$ref === `#/channels/${channelId}`)
      .flatMap((op) => op.messages.map((m: Doc) => resolve(doc, resolve(doc, m.$ref).$ref)))
      .map((message) => message.payload.schema);
    for (const schema of schemas) {
      const expected = frameSchema(schema, "input");
      assert.ok(
        received.some((payload) => JSON.stringify(payload) === JSON.stringify(expected)),
        `${channelId} receives ${JSON.stringify(expected)}`,
      );
    }
  }
});

Deno.test("the AsyncAPI document: every face's channels, sent frames, resolvable references", async () => {
  await using srv = await startTestServer();
  const doc = (await api(srv, "GET", "/asyncapi.json")).body;
  const faces = new Set(
    Object.values(doc.channels as Record<string, Doc>).map((c) => c.tags[0].name),
  );
  assert.deepEqual([...faces].sort(), ["desk", "inbox", "lounge", "meet"]);
  for (const [id, op] of Object.entries(doc.operations as Record<string, Doc>)) {
    assert.ok(["send", "receive"].includes(op.action), id);
    assert.ok(resolve(doc, op.channel.$ref), `${id}: its channel exists`);
    for (const m of op.messages) {
      const inChannel = resolve(doc, m.$ref);
      assert.ok(inChannel, `${id}: ${m.$ref}`);
      const message = resolve(doc, inChannel.$ref);
      assert.ok(message?.payload?.schema, `${id}: ${inChannel.$ref} has a payload`);
    }
  }
  const meetSends = Object.values(doc.operations as Record<string, Doc>)
    .filter((op) => op.action === "send" && op.channel.$ref === "#/channels/meetChat");
  assert.ok(meetSends.length >= 2, "meet's outbound frames are documented");
  const chat = doc.components.messages["meetChat.send.chat"].payload.schema;
  assert.deepEqual(Object.keys(chat.properties).sort(), [
    "client_id",
    "content",
    "created_at",
    "id",
    "user",
  ]);
});

Deno.test("frames the sockets send match the AsyncAPI document's schemas", async () => {
  await using srv = await startTestServer();
  const doc = (await api(srv, "GET", "/asyncapi.json")).body;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const check = (key: string, frame: unknown) => {
    const validate = ajv.compile(doc.components.messages[key].payload.schema);
    assert.ok(
      validate(frame),
      `${key}: ${JSON.stringify(validate.errors)} ${JSON.stringify(frame)}`,
    );
  };
  const ann = await person(srv, { name: "Ann Able", username: "ann" });
  const bob = await person(srv, { name: "Bob Baker", username: "bob" });

  // meet
  const room = await createRoom(srv, ann);
  await using meet = await join(srv, ann, room.id);
  meet.send({ content: "hello", client_id: "c-1" });
  check("meetChat.send.chat", await expectChat(meet, "hello"));

  // inbox
  await using conversation = await chatWith(srv, ann, "bob");
  check("inboxConversation.send.online_user_list", await conversation.frame("online_user_list"));
  conversation.send(textFrame("hi Bob", "bob"));
  check("inboxConversation.send.chat_message", await conversation.frame("chat_message"));

  // lounge: bob's socket hears ann's message in their room
  await using bobLounge = await loungeSocket(srv, bob);
  await using annLounge = await loungeSocket(srv, ann);
  annLounge.chat({ chat_type: "room", other_user_id: bob.user.id, message: "over here" });
  check("loungeSocket.send.room_chat_message", await bobLounge.frame("room_chat_message"));
  annLounge.chat({ chat_type: "nonsense", message: "" });
  check("loungeSocket.send.error", await annLounge.frame("error"));

  // desk: acknowledgements and events
  const desk = io(srv.url, { auth: { token: ann.access }, transports: ["websocket"] });
  try {
    await connected(desk);
    const opened = await api(srv, "POST", "/api/room/", { token: ann.access, body: { text: "q" } });
    const ackOf = (event: string) => doc.components.messages[`deskSocketIo.receive.${event}`];
    const checkAck = (event: string, reply: unknown) => {
      const validate = ajv.compile(ackOf(event)["x-ack"].schema);
      assert.ok(validate(reply), `${event} ack: ${JSON.stringify(validate.errors)}`);
    };
    checkAck("new_room", await ask(desk, "new_room", { room: opened.body.id }));
    const event = next(desk, "message");
    checkAck("message", await ask(desk, "message", { room: opened.body.id, text: "hi" }));
    check("deskSocketIo.send.message", await event);
    checkAck("rooms", await ask(desk, "rooms"));
    const refused = await ask(desk, "seen", { room: "x" });
    check("deskSocketIo.send.error", refused.error);
  } finally {
    desk.close();
  }
});
