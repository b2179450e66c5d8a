// One account on every face (DESIGN.md, issue 14): an account made on meet signs in on desk, lounge
// and live; a token from one face opens every other face's REST and sockets; a logout on one face
// ends that session everywhere; a deleted account is refused and its sockets close on every face.
// Each face is reached with its own real client: fetch for REST, socket.io-client for desk,
// WebSockets for inbox, meet and lounge.
import assert from "node:assert/strict";
import {
  api,
  chatWith,
  Clients,
  connected,
  createRoom,
  disconnected,
  engines,
  join,
  lounge,
  loungeSocket,
  type Person,
  person,
  startTestServer,
  type TestServer,
} from "./fixtures/mod.ts";

const PASSWORD = "orange-kettle-93";

/** Signs up on meet; returns the person with a meet login session. */
async function meetSignUp(srv: TestServer, email: string, name: string): Promise<Person> {
  const created = await api(srv, "POST", "/auth/register/", {
    body: { email, name, password: PASSWORD },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const login = await api(srv, "POST", "/auth/login/", { body: { email, password: PASSWORD } });
  assert.equal(login.status, 200);
  const user = await srv.core.accounts.get(created.body.id);
  return {
    user,
    email,
    name,
    password: PASSWORD,
    access: login.body.access,
    refresh: login.body.refresh,
  };
}

/** The REST endpoints of every face that need a token, each answering 200 with a good one. */
function everyFaceRest(srv: TestServer, token: string) {
  return {
    desk: api(srv, "GET", "/api/room/", { token }),
    inbox: api(srv, "GET", "/api/conversations", { headers: { authorization: token } }),
    meet: api(srv, "GET", "/auth/profile/", { token }),
    lounge: lounge(srv, "GET", "/users/profile", token),
    live: api(srv, "GET", "/room/list", { headers: { authorization: `Token ${token}` } }),
  };
}

async function statuses(srv: TestServer, token: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [face, reply] of Object.entries(everyFaceRest(srv, token))) {
    out[face] = (await reply).status;
  }
  return out;
}

const ALL_OK = { desk: 200, inbox: 200, meet: 200, lounge: 200, live: 200 };
const ALL_REFUSED = { desk: 401, inbox: 401, meet: 401, lounge: 401, live: 401 };

engines.test("an account made on meet signs in on desk by e-mail, on lounge, and its token works on live", async () => {
  await using srv = await startTestServer();
  const ann = await meetSignUp(srv, "ann@example.com", "Ann Lee");

  const desk = await api(srv, "POST", "/api/token/", {
    body: { username: "ann@example.com", password: PASSWORD },
  });
  assert.equal(desk.status, 200, JSON.stringify(desk.body));
  const loungeLogin = await lounge(srv, "POST", "/login", undefined, {
    email: "ann@example.com",
    password: PASSWORD,
  });
  assert.equal(loungeLogin.status, 200, JSON.stringify(loungeLogin.body));
  // live has no login of its own: its clients carry a token from the account system.
  for (const token of [ann.access, desk.body.access, loungeLogin.body.token]) {
    assert.deepEqual(await statuses(srv, token), ALL_OK);
  }
  const profile = await lounge(srv, "GET", "/users/profile", loungeLogin.body.token);
  assert.deepEqual(profile.body, {
    user_id: ann.user.id,
    email: "ann@example.com",
    first_name: "Ann",
    last_name: "Lee",
  });
});

engines.test("a token from one face opens every face's socket, and that face's logout closes them all", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const ann = await meetSignUp(srv, "ann@example.com", "Ann Lee");
  const bob = await person(srv, { username: "bob" });
  const other = await api(srv, "POST", "/api/token/", {
    body: { username: "ann@example.com", password: PASSWORD },
  });
  const room = await createRoom(srv, bob, { name: "Kitchen" });

  // Every socket with the token meet gave out.
  const desk = clients.as(ann);
  await connected(desk);
  const inbox = await chatWith(srv, ann, "bob");
  const meet = await join(srv, ann, room.id);
  const loungeWs = await loungeSocket(srv, ann);

  const logout = await api(srv, "POST", "/auth/logout/", { token: ann.access });
  assert.equal(logout.status, 200);
  const [_, inboxClose, meetClose, loungeClose] = await Promise.all([
    disconnected(desk),
    inbox.closedBy(),
    meet.closedBy(),
    loungeWs.waitClose(5000),
  ]);
  assert.equal(desk.connected, false);
  assert.deepEqual([inboxClose.code, meetClose.code, loungeClose.code], [4401, 4401, 4401]);
  assert.deepEqual(await statuses(srv, ann.access), ALL_REFUSED);
  // The desk session is another one: it goes on.
  assert.deepEqual(await statuses(srv, other.body.access), ALL_OK);
});

engines.test("an account deleted on one face is refused everywhere and its sockets close on every face", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const ann = await meetSignUp(srv, "ann@example.com", "Ann Lee");
  const bob = await person(srv, { username: "bob" });
  const deskToken = (await api(srv, "POST", "/api/token/", {
    body: { username: "ann@example.com", password: PASSWORD },
  })).body.access;
  const room = await createRoom(srv, bob, { name: "Kitchen" });
  const desk = clients.as({ ...ann, access: deskToken });
  await connected(desk);
  const inbox = await chatWith(srv, ann, "bob");
  const meet = await join(srv, ann, room.id);
  const loungeWs = await loungeSocket(srv, ann);

  const deleted = await api(srv, "DELETE", "/auth/profile/", { token: ann.access });
  assert.equal(deleted.status, 204);
  await disconnected(desk);
  for (const socket of [inbox, meet]) assert.equal((await socket.closedBy()).code, 4401);
  assert.equal((await loungeWs.waitClose(5000)).code, 4401);
  assert.deepEqual(await statuses(srv, deskToken), ALL_REFUSED);

  // Signing in again fails on every face that has a login.
  const desk2 = await api(srv, "POST", "/api/token/", {
    body: { username: "ann@example.com", password: PASSWORD },
  });
  const meet2 = await api(srv, "POST", "/auth/login/", {
    body: { email: "ann@example.com", password: PASSWORD },
  });
  const lounge2 = await lounge(srv, "POST", "/login", undefined, {
    email: "ann@example.com",
    password: PASSWORD,
  });
  assert.deepEqual([desk2.status, meet2.status, lounge2.status], [401, 401, 401]);
  // And Bob can no longer open a conversation with her.
  const bobToAnn = await api(srv, "GET", `/api/rooms/${ann.user.username}/messages`, {
    headers: { authorization: bob.access },
  });
  assert.equal(bobToAnn.status, 404);
});
