// The inbox face over REST (specs/inbox.md, issue 12): the user's conversations with their other
// person and last message, a conversation's messages oldest first (all, or a page), and the user
// objects the payloads link to.
import assert from "node:assert/strict";
import {
  api,
  assertIsoDate,
  engines,
  type Person,
  person,
  seedMessages,
  startTestServer,
  type TestServer,
} from "../fixtures/mod.ts";

/** The user object every inbox payload shows. */
function shown(srv: TestServer, who: Person) {
  return {
    url: `${srv.url}/api/userauth/users/${who.user.id}/`,
    username: who.user.username,
    email: who.email,
    groups: [],
    is_active: true,
  };
}

/** A request with the bare `Authorization: <token>` the spec's examples send. */
function bare(srv: TestServer, who: Person, path: string) {
  return api(srv, "GET", path, { headers: { authorization: who.access } });
}

engines.test("conversations list the other person and the last message, most recent first", async () => {
  // A clock of the test's own: each message a second after the last, so the order is certain.
  const clock = { now: Date.now() };
  await using srv = await startTestServer({}, { clock });
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const carol = await person(srv, { username: "carol" });
  const withBob = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  const withCarol = await srv.core.rooms.direct(carol.user.id, ann.user.id);
  await srv.core.messages.send({ roomId: withBob.id, authorId: ann.user.id, text: "hi Bob" });
  clock.now += 1000;
  await srv.core.messages.send({ roomId: withCarol.id, authorId: carol.user.id, text: "hi Ann" });
  clock.now += 1000;
  const { message: last } = await srv.core.messages.send({
    roomId: withBob.id,
    authorId: bob.user.id,
    text: "hello again",
  });

  const reply = await bare(srv, ann, "/api/conversations");
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.deepEqual(reply.body.map((c: { id: number }) => c.id), [withBob.id, withCarol.id]);
  const [first, second] = reply.body;
  assertIsoDate(first.last_message.date_added);
  assert.deepEqual(first, {
    id: withBob.id,
    name: "bob-ann",
    other_user: shown(srv, bob),
    last_message: {
      id: last.id,
      from_user: shown(srv, bob),
      to_user: shown(srv, ann),
      date_added: first.last_message.date_added,
      content: "hello again",
    },
  });
  assert.equal(second.name, "ann-carol");
  assert.deepEqual(second.other_user, shown(srv, carol));
  assert.equal(second.last_message.content, "hi Ann");

  // Bob sees only his one conversation; someone with none sees an empty list.
  const bobs = await bare(srv, bob, "/api/conversations");
  assert.deepEqual(bobs.body.map((c: { id: number }) => c.id), [withBob.id]);
  assert.deepEqual(bobs.body[0].other_user, shown(srv, ann));
  const dan = await person(srv, { username: "dan" });
  assert.deepEqual((await bare(srv, dan, "/api/conversations")).body, []);
});

engines.test("the url of every user in a payload answers with that user", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  await srv.core.messages.send({ roomId: room.id, authorId: ann.user.id, text: "hi" });

  const [conversation] = (await bare(srv, ann, "/api/conversations")).body;
  for (const user of [conversation.other_user, conversation.last_message.from_user]) {
    const res = await fetch(user.url, { headers: { authorization: ann.access } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), user);
  }
  const missing = await bare(srv, ann, "/api/userauth/users/999999/");
  assert.equal(missing.status, 404);
  assert.equal(typeof missing.body.detail, "string");
  assert.equal((await api(srv, "GET", `/api/userauth/users/${bob.user.id}/`)).status, 401);
});

engines.test("a conversation's messages come oldest first: all of them, or a page before an id", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  // More than one streamed page (200 rows) of history.
  const sent = await seedMessages(srv.core, room.id, ann.user.id, 230);

  const all = await bare(srv, bob, "/api/rooms/ann/messages");
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.body), ["messages"]);
  assert.deepEqual(all.body.messages.map((m: { id: number }) => m.id), sent.map((m) => m.id));
  assert.equal(all.headers.get("x-total-count"), "230");
  const [oldest] = all.body.messages;
  assertIsoDate(oldest.date_added);
  assert.deepEqual(oldest, {
    id: sent[0].id,
    from_user: shown(srv, ann),
    to_user: shown(srv, bob),
    date_added: oldest.date_added,
    content: sent[0].text,
  });

  const page = await bare(srv, ann, `/api/rooms/bob/messages?before=${sent[100].id}&limit=20`);
  assert.deepEqual(
    page.body.messages.map((m: { id: number }) => m.id),
    sent.slice(80, 100).map((m) => m.id),
  );
  const bad = await bare(srv, ann, "/api/rooms/bob/messages?limit=zero");
  assert.equal(bad.status, 400);
  assert.ok(Array.isArray(bad.body.limit));
});

engines.test("messages by username refuse strangers to the URL, oneself, and the unauthenticated", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const carol = await person(srv, { username: "carol" });
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  await srv.core.messages.send({ roomId: room.id, authorId: ann.user.id, text: "private" });

  assert.equal((await bare(srv, ann, "/api/rooms/nobody/messages")).status, 404);
  const self = await bare(srv, ann, "/api/rooms/ann/messages");
  assert.equal(self.status, 400);
  assert.ok(Array.isArray(self.body.user));
  assert.equal((await api(srv, "GET", "/api/rooms/bob/messages")).status, 401);
  // Carol asking for Ann gets her own (empty) conversation with Ann, never Ann's with Bob.
  const carols = await bare(srv, carol, "/api/rooms/ann/messages");
  assert.deepEqual(carols.body, { messages: [] });
  const listed = (await bare(srv, carol, "/api/conversations")).body;
  assert.ok(
    listed.every((c: { other_user: { username: string } }) => c.other_user.username === "ann"),
  );
  assert.ok(listed.every((c: { id: number }) => c.id !== room.id));
});

engines.test("conversations page by cursor when a limit is asked, following the Link header", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const rooms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const other = await person(srv, { username: `friend${i}` });
    const room = await srv.core.rooms.direct(ann.user.id, other.user.id);
    await srv.core.messages.send({ roomId: room.id, authorId: other.user.id, text: `hi ${i}` });
    rooms.unshift(room.id);
  }
  const seen: number[] = [];
  let path: string | undefined = "/api/conversations?limit=2";
  while (path) {
    const reply = await bare(srv, ann, path);
    assert.equal(reply.status, 200);
    seen.push(...reply.body.map((c: { id: number }) => c.id));
    path = reply.headers.get("link")?.match(/<([^>]+)>/)?.[1];
  }
  assert.deepEqual(seen, rooms);
  const bad = await bare(srv, ann, "/api/conversations?cursor=../x");
  assert.equal(bad.status, 400);
  assert.ok(Array.isArray(bad.body.cursor));
});
