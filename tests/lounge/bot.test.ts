// Bot chat on the lounge face: one bot_chat_message frame with both stored messages, from the
// built-in bot or an OpenAI-compatible endpoint; a slow endpoint never holds up the socket's
// other frames, and gives the stored apology after BOT_TIMEOUT.
import assert from "node:assert/strict";
import {
  engines,
  loungeOk,
  loungeSocket,
  person,
  startLlmServer,
  startTestServer,
} from "../fixtures/mod.ts";

engines.test("the built-in bot answers over the socket in one bot_chat_message frame, and GET /http/chat_bot pages the conversation", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  await using socket = await loungeSocket(srv, a);
  socket.chat({ chat_type: "bot", message: "help" });
  const frame = await socket.frame("bot_chat_message");
  assert.equal(frame.messages.length, 2);
  const [mine, reply] = frame.messages;
  assert.deepEqual(Object.keys(mine).sort(), ["is_user", "message", "timestamp"]);
  assert.equal(mine.is_user, true);
  assert.equal(mine.message, "help");
  assert.equal(reply.is_user, false);
  assert.ok(reply.message.length > 0);
  assert.ok(Date.parse(reply.timestamp) > Date.parse(mine.timestamp));
  const history = await loungeOk(srv, "GET", "/chat_bot", a);
  assert.deepEqual(history, frame.messages);
  const since = await loungeOk(srv, "GET", `/chat_bot?timestamp=${mine.timestamp}`, a);
  assert.deepEqual(since, [reply]);
  const before = await loungeOk(
    srv,
    "GET",
    `/chat_bot?timestamp=${reply.timestamp}&before=true`,
    a,
  );
  assert.deepEqual(before, [mine]);
  // Bot chat is neither a room chat nor a person in the list of users.
  assert.deepEqual(await loungeOk(srv, "GET", "/chat_rooms", a), []);
  const users = await loungeOk(srv, "GET", "/users", a);
  assert.deepEqual(users.map((u: { user_id: number }) => u.user_id), [a.user.id]);
  // Its unread answer is a notification of its own, until read.
  const notes = await loungeOk(srv, "GET", "/notifications", a);
  assert.deepEqual(
    notes.map((n: { chat_type: string; unread: number }) => [n.chat_type, n.unread]),
    [["bot", 1]],
  );
  await loungeOk(srv, "PUT", "/notifications", a, { chat_bot: true });
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", a), []);
});

engines.test("an OpenAI-compatible bot answers with the conversation as context", async () => {
  await using llm = await startLlmServer();
  await using srv = await startTestServer({ BOT_API_URL: llm.url, BOT_API_KEY: "sk-test" });
  const a = await person(srv);
  await using socket = await loungeSocket(srv, a);
  socket.chat({ chat_type: "bot", message: "first question" });
  const first = await socket.frame("bot_chat_message");
  assert.equal(first.messages[1].message, "Echo: first question");
  socket.chat({ chat_type: "bot", message: "second question" });
  const second = await socket.frame(
    "bot_chat_message",
    (f) => f.messages[0].message === "second question",
  );
  assert.equal(second.messages[1].message, "Echo: second question");
  const last = llm.requests.at(-1)!;
  assert.equal(last.authorization, "Bearer sk-test");
  const contents = (last.body.messages ?? []).map((m) => m.content);
  assert.ok(contents.includes("first question") && contents.includes("Echo: first question"));
});

engines.test("a slow bot never holds up the socket's other frames, and after BOT_TIMEOUT the stored answer is the apology", async () => {
  await using llm = await startLlmServer();
  llm.mode = "slow";
  llm.slowMs = 30_000;
  await using srv = await startTestServer({ BOT_API_URL: llm.url, BOT_TIMEOUT: "2" });
  const a = await person(srv);
  const b = await person(srv);
  await using socket = await loungeSocket(srv, a);
  await using other = await loungeSocket(srv, b);
  socket.chat({ chat_type: "bot", message: "are you there?" });
  // Meanwhile the same socket talks to a person, and is heard at once.
  socket.chat({ chat_type: "room", other_user_id: b.user.id, message: "while the bot thinks" });
  await other.frame("room_chat_message");
  assert.equal(socket.all("bot_chat_message").length, 0, "the room message did not wait");
  // A second bot question while the first waits is refused, not queued forever.
  socket.chat({ chat_type: "bot", message: "hello?" });
  const busy = await socket.frame("error", (f) => f.code === "throttled");
  assert.match(busy.detail, /still answering/);
  const frame = await socket.frame("bot_chat_message", () => true, 10_000);
  assert.equal(frame.messages[0].message, "are you there?");
  assert.match(frame.messages[1].message, /Sorry/);
  const history = await loungeOk(srv, "GET", "/chat_bot", a);
  assert.deepEqual(history.map((m: { message: string }) => m.message), [
    "are you there?",
    frame.messages[1].message,
  ]);
});
