// The AsyncAPI document at /asyncapi.json is generated from the frame schemas the sockets
// check: every inbound schema each socket uses must be there as a message that channel
// receives, and every reference in the document must resolve.
import assert from "node:assert/strict";
import type { z } from "zod";
import { deskInbound } from "@/faces/desk/socket.ts";
import { inboxInbound } from "@/faces/inbox/socket.ts";
import { chatFrame, initFrame } from "@/faces/lounge/socket.ts";
import { meetInbound } from "@/faces/meet/socket.ts";
import { frameSchema } from "@/realtime/asyncapi.ts";
import { api, startTestServer } from "../fixtures/mod.ts";

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
