// One person on every face (DESIGN.md, issue 14): presence is one (online on desk alone is online in
// lounge's user list, live's online_ids and inbox's online_user_list); a name changed on meet or
// lounge shows on every face that renders names; live's camera flag shows in lounge's and live's
// user lists.
import assert from "node:assert/strict";
import {
  api,
  chatWith,
  Clients,
  disconnected,
  engines,
  lounge,
  loungeOk,
  loungeSocket,
  type Person,
  person,
  startTestServer,
  type TestServer,
  waitFor,
} from "./fixtures/mod.ts";

async function loungeUserOf(srv: TestServer, viewer: Person, who: Person) {
  const users = await loungeOk(srv, "GET", "/users", viewer);
  return users.find((u: { user_id: number }) => u.user_id === who.user.id);
}

const live = (srv: TestServer, who: Person, path: string) =>
  api(srv, "GET", path, { headers: { authorization: `Token ${who.access}` } });

engines.test("someone online on desk alone is online on lounge, live and inbox, and offline everywhere after", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await srv.core.conversations.open(ann.user.id, ann.user.id, bob.user.id);
  assert.equal((await loungeUserOf(srv, ann, bob)).is_online, false);

  const desk = await clients.connect(bob);
  assert.equal((await loungeUserOf(srv, ann, bob)).is_online, true);
  assert.ok((await live(srv, ann, "/room/list")).body.online_ids.includes(bob.user.id));
  const list = (await live(srv, ann, "/room/list")).body;
  assert.equal(list.contact_users[bob.user.id].is_online, true);
  await using inbox = await chatWith(srv, ann, "bob");
  assert.deepEqual(await inbox.frame("online_user_list"), {
    type: "online_user_list",
    users: ["bob"],
  });

  desk.disconnect();
  await disconnected(desk);
  await waitFor(async () => (await loungeUserOf(srv, ann, bob)).is_online === false);
  assert.ok(!(await live(srv, ann, "/room/list")).body.online_ids.includes(bob.user.id));
});

engines.test("a name changed on meet or lounge shows on lounge, meet and desk, and lounge sockets hear it", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob", firstName: "Bob", lastName: "Stone" });
  await using annLounge = await loungeSocket(srv, ann);
  // Bob asked for help on desk: his name shows in the room list.
  const asked = await api(srv, "POST", "/api/room/", {
    token: bob.access,
    body: { text: "Help?" },
  });
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  const deskName = async () => {
    const rooms = (await api(srv, "GET", "/api/room/", { token: bob.access })).body;
    const { first_name, last_name } = rooms[0].student;
    return `${first_name} ${last_name}`;
  };

  const renamed = await api(srv, "PATCH", "/auth/profile/", {
    token: bob.access,
    body: { name: "Robert Stone" },
  });
  assert.equal(renamed.status, 200);
  const heard = await annLounge.frame("user_update", (f) => f.first_name === "Robert");
  assert.deepEqual(heard, {
    type: "user_update",
    user_id: bob.user.id,
    first_name: "Robert",
    last_name: "Stone",
  });
  assert.equal((await loungeUserOf(srv, ann, bob)).first_name, "Robert");
  assert.equal(await deskName(), "Robert Stone");

  const again = await lounge(srv, "PUT", "/users/profile", bob, { first_name: "Bobby" });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  await annLounge.frame("user_update", (f) => f.first_name === "Bobby");
  assert.equal(
    (await api(srv, "GET", "/auth/profile/", { token: bob.access })).body.name,
    "Bobby Stone",
  );
  assert.equal(await deskName(), "Bobby Stone");
});

engines.test("live's camera flag shows in lounge's and live's user lists", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await srv.core.conversations.open(ann.user.id, ann.user.id, bob.user.id);
  assert.equal((await loungeUserOf(srv, ann, bob)).is_camera, false);

  assert.equal((await live(srv, bob, "/webrtc/cameraOn")).status, 200);
  assert.equal((await loungeUserOf(srv, ann, bob)).is_camera, true);
  assert.equal(
    (await live(srv, ann, "/room/list")).body.contact_users[bob.user.id].is_camera,
    true,
  );
  assert.equal((await live(srv, bob, "/webrtc/cameraOff")).status, 200);
  assert.equal((await loungeUserOf(srv, ann, bob)).is_camera, false);
});
