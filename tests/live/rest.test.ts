// The live face (specs/live.md, issue 14): owner/abonent rooms over REST, with the documented
// shapes; the caller is always the token's user; select reads and makes current; stop suspends;
// camera on/off is a profile flag everyone sees.
import assert from "node:assert/strict";
import {
  api,
  chatWith,
  engines,
  type Person,
  person,
  startTestServer,
  type TestServer,
} from "../fixtures/mod.ts";
import { topic } from "@/lib/events.ts";

/** A message as live shows it. */
interface LiveMessage {
  id: number;
  message: string;
  author_id: number;
  created: string;
  is_readed: boolean;
}

/** The messages of a room in a live payload. */
const messagesOf = (room: { messages: Record<string, LiveMessage> }) =>
  Object.values(room.messages);

/** A request the way the original's clients sent them: `Authorization: Token <t>`. */
function live(srv: TestServer, who: Person, method: string, path: string, body?: unknown) {
  return api(srv, method, path, { headers: { authorization: `Token ${who.access}` }, body });
}

async function addRoom(srv: TestServer, owner: Person, abonent: Person) {
  const reply = await live(srv, owner, "POST", "/room/add", {
    owner: owner.user.id,
    abonent: abonent.user.id,
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

async function say(
  srv: TestServer,
  who: Person,
  roomId: number,
  message: string,
  path = "/room/list",
) {
  const reply = await live(srv, who, "POST", path, {
    author: { id: who.user.id, username: who.user.username },
    room_id: roomId,
    message,
    created: new Date().toISOString(),
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

engines.test("add opens the owner's room with the abonent: the core's direct room, current, in the documented shape", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const room = await addRoom(srv, ann, bob);
  const direct = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  assert.equal(typeof room.activity, "number");
  assert.deepEqual(room, {
    abonent_id: bob.user.id,
    id: direct.id,
    is_current: true,
    is_active: false,
    is_low_account: false,
    activity: room.activity,
    messages: {},
  });
  assert.ok(Math.abs(room.activity - Date.now() / 1000) < 60, "activity is in epoch seconds");
  // Adding again returns the same room.
  assert.equal((await addRoom(srv, ann, bob)).id, direct.id);
});

engines.test("only the owner adds a room (an admin may act for anyone), with anyone but oneself", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const carol = await person(srv);
  const admin = await person(srv, { role: "admin" });

  const forged = await live(srv, carol, "POST", "/room/add", {
    owner: ann.user.id,
    abonent: bob.user.id,
  });
  assert.equal(forged.status, 403);
  assert.equal(typeof forged.body.detail, "string");
  const byAdmin = await live(srv, admin, "POST", "/room/add", {
    owner: String(ann.user.id),
    abonent: String(bob.user.id),
  });
  assert.equal(byAdmin.status, 200);
  assert.equal(byAdmin.body.abonent_id, bob.user.id);
  const self = await live(srv, ann, "POST", "/room/add", {
    owner: ann.user.id,
    abonent: ann.user.id,
  });
  assert.equal(self.status, 400);
  const unknown = await live(srv, ann, "POST", "/room/add", {
    owner: ann.user.id,
    abonent: 999999,
  });
  assert.equal(unknown.status, 404);
});

engines.test("sending by either path stores as the caller; messages are keyed by id with is_readed", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const { id } = await addRoom(srv, ann, bob);
  const first = await say(srv, ann, id, "hello");
  const second = await say(srv, ann, id, "again", "/room/message");
  assert.ok(second.activity >= first.activity, "activity moves on");
  const ids = Object.keys(second.messages).map(Number);
  assert.equal(ids.length, 2);
  const [one, two] = ids.sort((a, b) => a - b);
  assert.deepEqual(second.messages[one], {
    id: one,
    message: "hello",
    author_id: ann.user.id,
    created: second.messages[one].created,
    is_readed: false,
  });
  assert.equal(second.messages[two].message, "again");
  assert.ok(!Number.isNaN(Date.parse(second.messages[one].created)));

  // A body that names someone else as the author is refused, not obeyed.
  const forged = await live(srv, bob, "POST", "/room/list", {
    author: { id: ann.user.id },
    room_id: id,
    message: "as Ann",
  });
  assert.equal(forged.status, 403);
  // Bob answers without naming himself at all: stored as Bob.
  const answered = await live(srv, bob, "POST", "/room/list", { room_id: id, message: "hi Ann" });
  assert.equal(answered.status, 200);
  const reply = messagesOf(answered.body).find((m) => m.message === "hi Ann")!;
  assert.equal(reply.author_id, bob.user.id);
});

engines.test("a room is active once the abonent answers; select makes it current and reads it for the other side", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const carol = await person(srv);
  const withBob = (await addRoom(srv, ann, bob)).id;
  const withCarol = (await addRoom(srv, ann, carol)).id;
  assert.equal((await say(srv, ann, withBob, "are you there?")).is_active, false);
  await say(srv, bob, withBob, "yes");

  let list = (await live(srv, ann, "GET", "/room/list")).body;
  assert.equal(list.current_room, withCarol, "the last added room is current");
  assert.equal(list.rooms[withBob].is_active, true);
  assert.equal(list.rooms[withBob].is_current, false);
  const annsMessage = messagesOf(list.rooms[withBob]).find((m) => m.author_id === ann.user.id)!;
  assert.equal(annsMessage.is_readed, false);

  // Bob selects the room: he has read Ann's message, and it is his current room.
  const bobs = (await live(srv, bob, "GET", `/room/select/${withBob}`)).body;
  assert.equal(bobs.current_room, withBob);
  assert.equal(bobs.rooms[withBob].is_current, true);
  list = (await live(srv, ann, "GET", "/room/list")).body;
  const readNow = list.rooms[withBob].messages[annsMessage.id];
  assert.equal(readNow.is_readed, true);

  // Ann selects hers: one current room at a time.
  list = (await live(srv, ann, "GET", `/room/select/${withBob}`)).body;
  assert.equal(list.current_room, withBob);
  assert.equal(list.rooms[withCarol].is_current, false);
  assert.deepEqual(list.room_ids.sort(), [withBob, withCarol].sort());
});

engines.test("stop suspends a room: not current, not active, no messages until it is added again", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const { id } = await addRoom(srv, ann, bob);
  await say(srv, bob, id, "hi");
  assert.deepEqual((await live(srv, ann, "GET", `/room/stop/${id}`)).body, {
    status: 0,
    message: "Ok",
  });
  const list = (await live(srv, ann, "GET", "/room/list")).body;
  assert.equal(list.rooms[id].is_active, false);
  assert.equal(list.rooms[id].is_current, false);
  assert.equal(list.current_room, null);

  const refused = await live(srv, bob, "POST", "/room/list", { room_id: id, message: "hello?" });
  assert.equal(refused.status, 409);
  assert.equal(typeof refused.body.detail, "string");
  // The same conversation on inbox is suspended too: one room, one rule.
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  assert.equal(room.isActive, false);

  await addRoom(srv, ann, bob);
  assert.equal((await say(srv, bob, id, "back")).is_active, true);
});

engines.test("the room list names contacts with their profile extras and who is online anywhere", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const { id } = await addRoom(srv, ann, bob);
  // Bob is online on another face (an inbox socket).
  await using _bobOnline = await chatWith(srv, bob, "ann");

  const list = (await live(srv, ann, "GET", "/room/list")).body;
  assert.deepEqual(Object.keys(list).sort(), [
    "contact_users",
    "contacts_ids",
    "current_room",
    "online_ids",
    "room_ids",
    "rooms",
  ]);
  assert.deepEqual(list.room_ids, [id]);
  assert.deepEqual(list.contacts_ids.sort(), [ann.user.id, bob.user.id].sort());
  assert.ok(list.online_ids.includes(bob.user.id));
  assert.deepEqual(list.contact_users[bob.user.id], {
    id: bob.user.id,
    account: "0",
    language: "en",
    gender: "",
    username: "bob",
    email: "bob@example.com",
    groups: [],
    is_superuser: false,
    main_photo: "",
    middle_photo: "",
    is_online: true,
    is_camera: false,
  });
  assert.equal(list.contact_users[ann.user.id].is_online, false);
});

engines.test("camera on and off is a profile flag, shown as is_camera and published as user.updated", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  await addRoom(srv, bob, ann);
  const updates: boolean[] = [];
  const stop = srv.hub.subscribe(topic.everyone, (event) => {
    if (event.type === "user.updated" && event.user.id === ann.user.id) {
      updates.push(event.user.cameraOn);
    }
  });
  assert.deepEqual((await live(srv, ann, "GET", "/webrtc/cameraOn")).body, { camera_on: "ok" });
  assert.equal(
    (await live(srv, bob, "GET", "/room/list")).body.contact_users[ann.user.id].is_camera,
    true,
  );
  assert.deepEqual((await live(srv, ann, "GET", "/webrtc/cameraOff")).body, { camera_off: "ok" });
  assert.equal(
    (await live(srv, bob, "GET", "/room/list")).body.contact_users[ann.user.id].is_camera,
    false,
  );
  stop();
  assert.deepEqual(updates, [true, false]);
});

engines.test("every refusal is in DRF shape and no body makes a 500", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const carol = await person(srv);
  const { id } = await addRoom(srv, ann, bob);

  assert.equal((await api(srv, "GET", "/room/list")).status, 401);
  assert.equal((await live(srv, carol, "GET", `/room/select/${id}`)).status, 403);
  assert.equal((await live(srv, carol, "GET", `/room/stop/${id}`)).status, 403);
  assert.equal((await live(srv, ann, "GET", "/room/select/999999")).status, 404);
  assert.equal(
    (await live(srv, carol, "POST", "/room/list", { room_id: id, message: "x" })).status,
    403,
  );
  const empty = await live(srv, ann, "POST", "/room/list", { room_id: id, message: "  " });
  assert.equal(empty.status, 400);
  assert.ok(Array.isArray(empty.body.message), JSON.stringify(empty.body));

  const bodies: unknown[] = [
    null,
    [],
    "text",
    5,
    {},
    { owner: -1, abonent: "x" },
    {
      owner: 1e300,
      abonent: { id: 1 },
    },
    { room_id: "1; DROP TABLE", message: 5 },
    { room_id: id, message: "x".repeat(100_000) },
  ];
  for (const path of ["/room/add", "/room/list", "/room/message"]) {
    for (const body of bodies) {
      const reply = await live(srv, ann, "POST", path, body);
      assert.ok(
        reply.status >= 400 && reply.status < 500,
        `${path} ${JSON.stringify(body)}: ${reply.status}`,
      );
      assert.equal(typeof reply.body, "object", `${path}: ${JSON.stringify(reply.body)}`);
    }
  }
});
