// The lounge bot: an ordinary account in a direct room with each user. The built-in helper
// answers about the service; an OpenAI-compatible API (a local server here) gets the model,
// the key and the conversation; a slow, failing or malformed API gives a stored apology.
import assert from "node:assert/strict";
import { AuthenticationError, RateLimited } from "@/lib/errors.ts";
import type { Bot } from "@/lib/bot/bot.ts";
import { APOLOGY, BOT_USERNAME } from "@/lib/bot/chat.ts";
import { FALLBACK_TEXT, HELP_TEXT } from "@/lib/bot/builtin.ts";
import { createOpenAiBot } from "@/lib/bot/openai.ts";
import {
  engines,
  makeUser,
  openTestCore,
  PASSWORD,
  refusal,
  startLlmServer,
  type TestCore,
  type TestLlmServer,
} from "../fixtures/mod.ts";

const llmBot = (llm: TestLlmServer, apiKey?: string) =>
  createOpenAiBot({ apiUrl: llm.url, apiKey, model: "test-model-1" });

engines.test("the bot is one account with is_bot, created once even when asked for at once", async () => {
  await using t = await openTestCore();
  const bots = await Promise.all([1, 2, 3, 4].map(() => t.core.botChat.botUser()));
  assert.equal(new Set(bots.map((b) => b.id)).size, 1);
  const bot = bots[0];
  assert.equal(bot.username, BOT_USERNAME);
  assert.equal(bot.isBot, true);
  assert.equal(bot.isActive, true);
  // No password opens it.
  await refusal(t.core.accounts.login(BOT_USERNAME, ""), AuthenticationError);
  await refusal(t.core.accounts.login(BOT_USERNAME, PASSWORD), AuthenticationError);
  // And no person can take its name.
  await assert.rejects(makeUser(t.core, { username: "bot" }));
});

engines.test("a user's bot chat is their direct room with the bot", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const room = await t.core.botChat.room(user.id);
  const bot = await t.core.botChat.botUser();
  assert.equal(room.kind, "direct");
  assert.deepEqual(room.pair, [user.id, bot.id].sort((a, b) => a - b));
  assert.equal((await t.core.botChat.room(user.id)).id, room.id);
});

engines.test("the built-in bot answers help, and a friendly pointer to help otherwise", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const { user: mine, bot } = await t.core.botChat.send(user.id, "help");
  assert.equal(mine.text, "help");
  assert.equal(mine.authorId, user.id);
  assert.equal(bot.text, HELP_TEXT);
  assert.equal(bot.authorId, (await t.core.botChat.botUser()).id);
  assert.equal(bot.roomId, mine.roomId);
  assert.ok(bot.id > mine.id);

  const other = await t.core.botChat.send(user.id, "what is the meaning of life?");
  assert.equal(other.bot.text, FALLBACK_TEXT);
  assert.match(other.bot.text, /help/);
  // Both sides are stored in the room, in order.
  const page = await t.core.messages.history(mine.roomId, user.id);
  assert.deepEqual(page.messages.map((m) => m.text), [
    "help",
    HELP_TEXT,
    "what is the meaning of life?",
    FALLBACK_TEXT,
  ]);
});

engines.test("the built-in bot says who is online", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core, { firstName: "Asker", lastName: "One" });
  assert.equal(
    (await t.core.botChat.send(user.id, "who is online?")).bot.text,
    "Nobody else is online right now.",
  );
  const { user: grace } = await makeUser(t.core, { firstName: "Grace", lastName: "Hopper" });
  const { user: alan } = await makeUser(t.core, { firstName: "Alan", lastName: "Turing" });
  const leave = [grace, alan, user].map((u) => t.core.presence.connect(u.id));
  const { bot } = await t.core.botChat.send(user.id, "online");
  assert.equal(bot.text, "Online now (2): Alan Turing and Grace Hopper.");
  leave.forEach((f) => f());
});

engines.test("the built-in bot counts your unread messages by conversation", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  assert.equal(
    (await t.core.botChat.send(user.id, "unread")).bot.text,
    "You have no unread messages.",
  );
  const { user: grace } = await makeUser(t.core, { firstName: "Grace", lastName: "Hopper" });
  const direct = await t.core.rooms.direct(user.id, grace.id);
  for (const text of ["one", "two"]) {
    await t.core.messages.send({ roomId: direct.id, authorId: grace.id, text });
  }
  const group = await t.core.rooms.createGroup({
    name: "Tea",
    creatorId: grace.id,
    roomType: "chat",
  });
  await t.core.rooms.addMember(group.id, user.id);
  await t.core.messages.send({ roomId: group.id, authorId: grace.id, text: "tea?" });
  const { bot } = await t.core.botChat.send(user.id, "any unread messages?");
  // The bot's own room (whose answers are unread too) is left out.
  assert.equal(bot.text, 'You have 3 unread messages: Grace Hopper: 2 and group "Tea": 1.');
});

engines.test("the OpenAI-compatible bot gets the model, the key and the conversation; its answer is stored", async () => {
  await using llm = await startLlmServer();
  await using t = await openTestCore({}, { bot: llmBot(llm, "sk-test-key") });
  const { user } = await makeUser(t.core);
  const first = await t.core.botChat.send(user.id, "Hello there");
  assert.equal(first.bot.text, "Echo: Hello there");
  llm.answer = "Paris.";
  const second = await t.core.botChat.send(user.id, "Capital of France?");
  assert.equal(second.bot.text, "Paris.");

  assert.equal(llm.requests.length, 2);
  const last = llm.requests[1];
  assert.equal(last.path, "/v1/chat/completions");
  assert.equal(last.authorization, "Bearer sk-test-key");
  assert.equal(last.body.model, "test-model-1");
  const messages = last.body.messages!;
  assert.equal(messages[0].role, "system");
  assert.deepEqual(messages.slice(1), [
    { role: "user", content: "Hello there" },
    { role: "assistant", content: "Echo: Hello there" },
    { role: "user", content: "Capital of France?" },
  ]);
  const page = await t.core.messages.history(first.user.roomId, user.id);
  assert.deepEqual(page.messages.map((m) => m.text), [
    "Hello there",
    "Echo: Hello there",
    "Capital of France?",
    "Paris.",
  ]);
});

engines.test("without a key no Authorization header is sent", async () => {
  await using llm = await startLlmServer();
  await using t = await openTestCore({}, { bot: llmBot(llm) });
  const { user } = await makeUser(t.core);
  await t.core.botChat.send(user.id, "hi");
  assert.equal(llm.requests[0].authorization, null);
});

engines.test("the context is bounded to the last 20 messages", async () => {
  await using llm = await startLlmServer();
  await using t = await openTestCore({}, { bot: llmBot(llm) });
  const { user } = await makeUser(t.core);
  for (let i = 0; i < 12; i++) await t.core.botChat.send(user.id, `q${i}`);
  const messages = llm.requests.at(-1)!.body.messages!;
  // system + 20 earlier messages + the question.
  assert.equal(messages.length, 22);
  assert.deepEqual(messages.at(-1), { role: "user", content: "q11" });
  assert.deepEqual(messages[1], { role: "user", content: "q1" });
});

engines.test("a bot slower than BOT_TIMEOUT gives the stored apology", async () => {
  await using llm = await startLlmServer();
  llm.mode = "slow";
  await using t = await openTestCore({ botTimeoutMs: 300 }, { bot: llmBot(llm) });
  const { user } = await makeUser(t.core);
  const { user: mine, bot } = await t.core.botChat.send(user.id, "are you there?");
  assert.equal(bot.text, APOLOGY);
  assert.equal(mine.text, "are you there?");
  const page = await t.core.messages.history(mine.roomId, user.id);
  assert.deepEqual(page.messages.map((m) => m.text), ["are you there?", APOLOGY]);
});

engines.test("a failing or malformed API answer gives the apology", async () => {
  await using llm = await startLlmServer();
  await using t = await openTestCore({}, { bot: llmBot(llm, "sk-secret") });
  const { user } = await makeUser(t.core);
  llm.mode = "malformed";
  assert.equal((await t.core.botChat.send(user.id, "one")).bot.text, APOLOGY);
  llm.mode = "fail";
  assert.equal((await t.core.botChat.send(user.id, "two")).bot.text, APOLOGY);
  llm.mode = "answer";
  assert.equal((await t.core.botChat.send(user.id, "three")).bot.text, "Echo: three");
  // The apologies are ours: the bot is not shown them as its own words.
  const context = llm.requests.at(-1)!.body.messages!.slice(1);
  assert.deepEqual(context.map((m) => m.role), ["user", "user", "user"]);
});

engines.test("an API that is not there gives the apology", async () => {
  const llm = await startLlmServer();
  await llm.close();
  await using t = await openTestCore({}, { bot: llmBot(llm) });
  const { user } = await makeUser(t.core);
  assert.equal((await t.core.botChat.send(user.id, "anyone?")).bot.text, APOLOGY);
});

engines.test("the user's message is committed before the bot is asked", async () => {
  const opened: { db?: TestCore["database"]["db"] } = {};
  let seen: string[] = [];
  const bot: Bot = {
    async reply({ text }) {
      // What any other reader of the database sees while the bot thinks.
      const rows = await opened.db!.selectFrom("messages").select("body").orderBy("id").execute();
      seen = rows.map((r) => r.body);
      return `got ${text}`;
    },
  };
  await using t = await openTestCore({}, { bot });
  opened.db = t.database.db;
  const { user } = await makeUser(t.core);
  const { bot: answer } = await t.core.botChat.send(user.id, "first!");
  assert.deepEqual(seen, ["first!"]);
  assert.equal(answer.text, "got first!");
  const told = t.events.filter((e) => e.event.type === "message.created");
  assert.equal(told.length, 2, "both published");
});

engines.test("one question at a time per user; others are not held up", async () => {
  const gate = Promise.withResolvers<void>();
  const bot: Bot = {
    async reply({ text }) {
      if (text === "slow") await gate.promise;
      return `re: ${text}`;
    },
  };
  await using t = await openTestCore({}, { bot });
  const { user: a } = await makeUser(t.core);
  const { user: b } = await makeUser(t.core);
  const pending = t.core.botChat.send(a.id, "slow");
  const err = await refusal(t.core.botChat.send(a.id, "impatient"), RateLimited);
  assert.ok(err.retryAfter >= 1);
  assert.equal((await t.core.botChat.send(b.id, "quick")).bot.text, "re: quick");
  gate.resolve();
  assert.equal((await pending).bot.text, "re: slow");
  // The refused question was not stored.
  const room = await t.core.botChat.room(a.id);
  const texts = (await t.core.messages.history(room.id, a.id)).messages.map((m) => m.text);
  assert.deepEqual(texts, ["slow", "re: slow"]);
  assert.equal((await t.core.botChat.send(a.id, "again")).bot.text, "re: again");
});

engines.test("the bot's answers are not held back by the per-user send limit", async () => {
  await using t = await openTestCore({ sendRate: 1, sendBurst: 2 });
  const users = await Promise.all([1, 2, 3, 4].map(() => makeUser(t.core)));
  for (const { user } of users) {
    const { bot } = await t.core.botChat.send(user.id, "help");
    assert.equal(bot.text, HELP_TEXT);
  }
  // The user's own sends still count.
  const { user } = users[0];
  await t.core.botChat.send(user.id, "help");
  await refusal(t.core.botChat.send(user.id, "help"), RateLimited);
});
