// The meet face over HTTP (specs/meet.md, issue 5): accounts under /auth/ and rooms under
// /api/rooms/, with the documented status codes, JSON shapes and error bodies.
import assert from "node:assert/strict";
import {
  api,
  assertIsoDate,
  createRoom,
  engines,
  join,
  newSession,
  PASSWORD,
  person,
  shownAs,
  startTestServer,
} from "../fixtures/mod.ts";

const NOT_PROVIDED = { detail: "Authentication credentials were not provided." };
const NO_ACCOUNT = { detail: "No active account found with the given credentials" };
const NOT_FOUND = { detail: "Not found." };

// --- Register ---------------------------------------------------------------------------------

engines.test("register answers 201 with exactly id, email, name and date_joined", async () => {
  await using srv = await startTestServer();
  const reply = await api(srv, "POST", "/auth/register/", {
    body: { email: "john@example.com", name: "John Doe", password: PASSWORD },
  });
  assert.equal(reply.status, 201);
  assert.deepEqual(Object.keys(reply.body).sort(), ["date_joined", "email", "id", "name"]);
  assert.equal(typeof reply.body.id, "number");
  assert.equal(reply.body.email, "john@example.com");
  assert.equal(reply.body.name, "John Doe");
  assertIsoDate(reply.body.date_joined);
});

engines.test("register refuses an e-mail already taken, whatever its case, with 400", async () => {
  await using srv = await startTestServer();
  const first = await api(srv, "POST", "/auth/register/", {
    body: { email: "dup@example.com", name: "First", password: PASSWORD },
  });
  assert.equal(first.status, 201);
  for (const email of ["dup@example.com", "DUP@Example.COM"]) {
    const again = await api(srv, "POST", "/auth/register/", {
      body: { email, name: "Second", password: PASSWORD },
    });
    assert.equal(again.status, 400, email);
    assert.deepEqual(again.body, { email: ["A user with this email already exists."] }, email);
  }
});

engines.test("register refuses an invalid e-mail with 400 {email: [...]}", async () => {
  await using srv = await startTestServer();
  for (const email of ["not-an-email", "a@", "@b.com", "two words@example.com"]) {
    const reply = await api(srv, "POST", "/auth/register/", {
      body: { email, name: "Someone", password: PASSWORD },
    });
    assert.equal(reply.status, 400, email);
    assert.deepEqual(Object.keys(reply.body), ["email"], email);
    assert.ok(Array.isArray(reply.body.email) && reply.body.email.length > 0, email);
    assert.ok(reply.body.email.every((m: unknown) => typeof m === "string"), email);
  }
});

engines.test("register refuses a common or weak password with 400 {password: [...]}", async () => {
  await using srv = await startTestServer();
  const common = await api(srv, "POST", "/auth/register/", {
    body: { email: "weak@example.com", name: "Weak", password: "password123" },
  });
  assert.equal(common.status, 400);
  assert.deepEqual(Object.keys(common.body), ["password"]);
  assert.ok(common.body.password.includes("This password is too common."), common.body.password);

  const short = await api(srv, "POST", "/auth/register/", {
    body: { email: "short@example.com", name: "Short", password: "x7!" },
  });
  assert.equal(short.status, 400);
  assert.deepEqual(Object.keys(short.body), ["password"]);
  assert.ok(short.body.password.length > 0);

  // Nothing was created: the e-mail is still free.
  const ok = await api(srv, "POST", "/auth/register/", {
    body: { email: "weak@example.com", name: "Weak", password: PASSWORD },
  });
  assert.equal(ok.status, 201);
});

engines.test("register derives a unique username from e-mails with the same local part", async () => {
  await using srv = await startTestServer();
  const a = await api(srv, "POST", "/auth/register/", {
    body: { email: "ann@a.com", name: "Ann A", password: PASSWORD },
  });
  const b = await api(srv, "POST", "/auth/register/", {
    body: { email: "ann@b.com", name: "Ann B", password: PASSWORD },
  });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  const ua = await srv.core.accounts.get(a.body.id);
  const ub = await srv.core.accounts.get(b.body.id);
  assert.match(ua.username, /^ann/);
  assert.match(ub.username, /^ann/);
  assert.notEqual(ua.username.toLowerCase(), ub.username.toLowerCase());
  // Both can log in with their own e-mail.
  for (const email of ["ann@a.com", "ann@b.com"]) {
    const login = await api(srv, "POST", "/auth/login/", { body: { email, password: PASSWORD } });
    assert.equal(login.status, 200, email);
  }
});

engines.test("register and PATCH /auth/profile/ report a name too long to store under the name field", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  // 200 characters fit the 301-character name, but not the 150-character first or last name.
  for (const name of ["x".repeat(200), `Ann ${"y".repeat(200)}`]) {
    const reg = await api(srv, "POST", "/auth/register/", {
      body: { email: "longname@example.com", name, password: PASSWORD },
    });
    assert.equal(reg.status, 400, `register: ${JSON.stringify(reg.body)}`);
    assert.deepEqual(Object.keys(reg.body), ["name"], `register: ${JSON.stringify(reg.body)}`);
    const patch = await api(srv, "PATCH", "/auth/profile/", { token: who.access, body: { name } });
    assert.equal(patch.status, 400, `patch: ${JSON.stringify(patch.body)}`);
    assert.deepEqual(Object.keys(patch.body), ["name"], `patch: ${JSON.stringify(patch.body)}`);
  }
  const profile = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(profile.body.name, who.name);
});

engines.test("PATCH /auth/profile/ refuses a blank name with 400 {name: [...]}", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "PATCH", "/auth/profile/", {
    token: who.access,
    body: { name: "   " },
  });
  assert.equal(reply.status, 400);
  assert.deepEqual(Object.keys(reply.body), ["name"]);
  const empty = await api(srv, "PATCH", "/auth/profile/", { token: who.access, body: {} });
  assert.equal(empty.status, 200);
  assert.equal(empty.body.name, who.name);
});

// --- Login, refresh, logout -------------------------------------------------------------------

engines.test("login with e-mail and password returns access and refresh tokens", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "POST", "/auth/login/", {
    body: { email: who.email, password: PASSWORD },
  });
  assert.equal(reply.status, 200);
  assert.deepEqual(Object.keys(reply.body).sort(), ["access", "refresh"]);
  const profile = await api(srv, "GET", "/auth/profile/", { token: reply.body.access });
  assert.equal(profile.status, 200);
  assert.equal(profile.body.id, who.user.id);
});

engines.test("login with a wrong password or unknown e-mail is 401 with the documented detail", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  for (
    const body of [
      { email: who.email, password: "wrong-password-99" },
      { email: "nobody@example.com", password: PASSWORD },
    ]
  ) {
    const reply = await api(srv, "POST", "/auth/login/", { body });
    assert.equal(reply.status, 401, body.email);
    assert.deepEqual(reply.body, NO_ACCOUNT);
  }
});

engines.test("token refresh answers {access} only, as documented; the refresh token works again, also twice at once", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const refresh = () =>
    api(srv, "POST", "/auth/token/refresh/", { body: { refresh: who.refresh } });
  const replies = [await refresh(), ...await Promise.all([refresh(), refresh()])];
  for (const reply of replies) {
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.body), ["access"]);
    const profile = await api(srv, "GET", "/auth/profile/", { token: reply.body.access });
    assert.equal(profile.body.id, who.user.id);
  }
});

engines.test("logout ends the refresh token too", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const out = await api(srv, "POST", "/auth/logout/", {
    token: who.access,
    body: { refresh: who.refresh },
  });
  assert.equal(out.status, 200);
  const reply = await api(srv, "POST", "/auth/token/refresh/", { body: { refresh: who.refresh } });
  assert.equal(reply.status, 401);
  assert.equal(reply.body.code, "token_not_valid");
});

engines.test("with REFRESH_ROTATION, token refresh returns a new access token and rotates the refresh token", async () => {
  await using srv = await startTestServer({ REFRESH_ROTATION: "true", REFRESH_REUSE_LEEWAY: "0" });
  const who = await person(srv);
  const reply = await api(srv, "POST", "/auth/token/refresh/", {
    body: { refresh: who.refresh },
  });
  assert.equal(reply.status, 200);
  assert.equal(typeof reply.body.access, "string");
  assert.notEqual(reply.body.access, who.access);
  assert.equal(typeof reply.body.refresh, "string");
  assert.notEqual(reply.body.refresh, who.refresh);

  const profile = await api(srv, "GET", "/auth/profile/", { token: reply.body.access });
  assert.equal(profile.status, 200);
  assert.equal(profile.body.id, who.user.id);

  const again = await api(srv, "POST", "/auth/token/refresh/", { body: { refresh: who.refresh } });
  assert.equal(again.status, 401);
  assert.equal(typeof again.body.detail, "string");
});

engines.test("token refresh refuses an access token or garbage with 401", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  for (const refresh of [who.access, "garbage", "a.b.c"]) {
    const reply = await api(srv, "POST", "/auth/token/refresh/", { body: { refresh } });
    assert.equal(reply.status, 401, refresh);
    assert.equal(typeof reply.body.detail, "string");
  }
});

engines.test("logout answers 200 with the documented message and the access token stops working", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const other = await newSession(srv, who);
  const reply = await api(srv, "POST", "/auth/logout/", { token: who.access });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, { message: "Successfully logged out" });
  const after = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(after.status, 401);
  assert.equal(typeof after.body.detail, "string");
  // Another session of the same person is not affected.
  const still = await api(srv, "GET", "/auth/profile/", { token: other.access });
  assert.equal(still.status, 200);
});

// --- Profile ----------------------------------------------------------------------------------

engines.test("GET /auth/profile/ returns the signed-in user's profile", async () => {
  await using srv = await startTestServer();
  const who = await person(srv, { name: "Grace Brewster Hopper" });
  const reply = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(reply.status, 200);
  assert.deepEqual(Object.keys(reply.body).sort(), ["date_joined", "email", "id", "name"]);
  assert.equal(reply.body.id, who.user.id);
  assert.equal(reply.body.email, who.email);
  assert.equal(reply.body.name, "Grace Brewster Hopper");
  assertIsoDate(reply.body.date_joined);
});

engines.test("PATCH /auth/profile/ renames the user in the profile, room creators and messages", async () => {
  await using srv = await startTestServer();
  const who = await person(srv, { name: "Old Name" });
  const room = await createRoom(srv, who, { name: "Renames" });
  await srv.core.groups.send(room.id, who.user.id, "before the rename");

  const reply = await api(srv, "PATCH", "/auth/profile/", {
    token: who.access,
    body: { name: "Brand New Name" },
  });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.name, "Brand New Name");
  assert.equal(reply.body.id, who.user.id);
  assert.equal(reply.body.email, who.email);

  const profile = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(profile.body.name, "Brand New Name");

  const rooms = await api(srv, "GET", "/api/rooms/", { token: who.access });
  assert.equal(rooms.status, 200);
  assert.deepEqual(rooms.body[0].creator, {
    id: who.user.id,
    email: who.email,
    name: "Brand New Name",
  });
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: who.access });
  assert.equal(detail.body.creator.name, "Brand New Name");

  const messages = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, {
    token: who.access,
  });
  assert.equal(messages.status, 200);
  assert.equal(messages.body.length, 1);
  assert.equal(messages.body[0].user.name, "Brand New Name");
});

engines.test("DELETE /auth/profile/ deactivates the account: 204, token and login refused", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "DELETE", "/auth/profile/", { token: who.access });
  assert.equal(reply.status, 204);
  const after = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(after.status, 401);
  assert.equal(typeof after.body.detail, "string");
  const login = await api(srv, "POST", "/auth/login/", {
    body: { email: who.email, password: PASSWORD },
  });
  assert.equal(login.status, 401);
  assert.deepEqual(login.body, NO_ACCOUNT);
  const refresh = await api(srv, "POST", "/auth/token/refresh/", {
    body: { refresh: who.refresh },
  });
  assert.equal(refresh.status, 401);
});

engines.test("DELETE /auth/profile/ keeps the user's messages in the room under 'Deleted user'", async () => {
  await using srv = await startTestServer();
  const owner = await person(srv);
  const leaving = await person(srv);
  const room = await createRoom(srv, owner, { name: "Stays" });
  await srv.core.groups.send(room.id, leaving.user.id, "I was here");
  await srv.core.groups.send(room.id, owner.user.id, "So was I");

  const reply = await api(srv, "DELETE", "/auth/profile/", { token: leaving.access });
  assert.equal(reply.status, 204);

  const messages = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, {
    token: owner.access,
  });
  assert.equal(messages.status, 200);
  assert.deepEqual(messages.body.map((m: { content: string }) => m.content), [
    "I was here",
    "So was I",
  ]);
  assert.equal(messages.body[0].user.id, leaving.user.id);
  assert.equal(messages.body[0].user.name, "Deleted user");
  assert.notEqual(messages.body[0].user.email, leaving.email);
  assert.deepEqual(messages.body[1].user, shownAs(owner));
});

engines.test("DELETE /auth/profile/ closes the user's open /ws/chat/ socket with 4401", async () => {
  await using srv = await startTestServer();
  const owner = await person(srv);
  const leaving = await person(srv);
  const room = await createRoom(srv, owner);
  await using ownerSocket = await join(srv, owner, room.id);
  await using socket = await join(srv, leaving, room.id);

  const reply = await api(srv, "DELETE", "/auth/profile/", { token: leaving.access });
  assert.equal(reply.status, 204);
  const closed = await socket.closedBy();
  assert.equal(closed.code, 4401);
  assert.ok(closed.reason.length > 0, "a close reason");

  // Others in the room stay connected.
  ownerSocket.say("still here");
  assert.equal((await ownerSocket.nextJson()).content, "still here");
});

// --- Authentication on every endpoint ---------------------------------------------------------

/** Every authenticated endpoint, with a body where it takes one. */
function protectedEndpoints(roomId: number): [string, string, unknown?][] {
  return [
    ["GET", "/auth/profile/"],
    ["PATCH", "/auth/profile/", { name: "X" }],
    ["DELETE", "/auth/profile/"],
    ["POST", "/auth/logout/"],
    ["GET", "/api/rooms/"],
    ["POST", "/api/rooms/", { name: "R", room_type: "chat" }],
    ["GET", `/api/rooms/${roomId}/`],
    ["PATCH", `/api/rooms/${roomId}/`, { name: "R2" }],
    ["DELETE", `/api/rooms/${roomId}/`],
    ["GET", `/api/rooms/${roomId}/messages/`],
  ];
}

engines.test("every protected endpoint without a token is 401 'credentials were not provided'", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  for (const [method, path, body] of protectedEndpoints(room.id)) {
    const reply = await api(srv, method, path, { body });
    assert.equal(reply.status, 401, `${method} ${path}`);
    assert.deepEqual(reply.body, NOT_PROVIDED, `${method} ${path}`);
  }
  // Nothing happened: the room and the account are still there.
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: who.access });
  assert.equal(detail.status, 200);
  assert.equal(detail.body.name, "Room");
});

engines.test("every protected endpoint with a garbage token is 401 with a detail", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  for (const token of ["garbage", "a.b.c", who.refresh]) {
    for (const [method, path, body] of protectedEndpoints(room.id)) {
      const reply = await api(srv, method, path, { token, body });
      assert.equal(reply.status, 401, `${method} ${path} with ${token.slice(0, 10)}`);
      assert.equal(typeof reply.body.detail, "string", `${method} ${path}`);
    }
  }
});

engines.test("an expired access token is refused with 401", async () => {
  const clock = { now: Date.now() };
  await using srv = await startTestServer({ ACCESS_TOKEN_TTL: "1" }, { clock });
  const who = await person(srv);
  const fresh = await api(srv, "GET", "/auth/profile/", { token: who.access });
  assert.equal(fresh.status, 200);
  clock.now += 2100;
  for (const [method, path] of [["GET", "/auth/profile/"], ["GET", "/api/rooms/"]]) {
    const reply = await api(srv, method, path, { token: who.access });
    assert.equal(reply.status, 401, path);
    assert.equal(typeof reply.body.detail, "string");
  }
  // The refresh token still gets a new, working access token.
  const refreshed = await api(srv, "POST", "/auth/token/refresh/", {
    body: { refresh: who.refresh },
  });
  assert.equal(refreshed.status, 200);
  const again = await api(srv, "GET", "/auth/profile/", { token: refreshed.body.access });
  assert.equal(again.status, 200);
});

// --- Rooms ------------------------------------------------------------------------------------

engines.test("POST /api/rooms/ creates a room in the documented shape", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "New Room", description: "Room description", room_type: "video" },
  });
  assert.equal(reply.status, 201);
  assert.deepEqual(
    Object.keys(reply.body).sort(),
    ["created_at", "creator", "description", "id", "is_active", "name", "room_type"],
  );
  assert.equal(typeof reply.body.id, "number");
  assert.equal(reply.body.name, "New Room");
  assert.equal(reply.body.description, "Room description");
  assert.deepEqual(reply.body.creator, shownAs(who));
  assert.equal(reply.body.room_type, "video");
  assert.equal(reply.body.is_active, true);
  assertIsoDate(reply.body.created_at);
});

engines.test("POST /api/rooms/ without a description stores an empty one", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "Plain", room_type: "chat" },
  });
  assert.equal(reply.status, 201);
  assert.equal(reply.body.description, "");
});

engines.test("POST /api/rooms/ requires a name of at most 100 characters", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  for (const body of [{ room_type: "chat" }, { name: "", room_type: "chat" }]) {
    const reply = await api(srv, "POST", "/api/rooms/", { token: who.access, body });
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.deepEqual(Object.keys(reply.body), ["name"]);
    assert.ok(reply.body.name.length > 0);
  }
  const long = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "n".repeat(101), room_type: "chat" },
  });
  assert.equal(long.status, 400);
  assert.deepEqual(Object.keys(long.body), ["name"]);
  const exact = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "n".repeat(100), room_type: "chat" },
  });
  assert.equal(exact.status, 201);
});

engines.test("POST /api/rooms/ accepts only room_type chat or video", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  for (const body of [{ name: "R", room_type: "audio" }, { name: "R" }]) {
    const reply = await api(srv, "POST", "/api/rooms/", { token: who.access, body });
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.deepEqual(Object.keys(reply.body), ["room_type"]);
  }
  const list = await api(srv, "GET", "/api/rooms/", { token: who.access });
  assert.deepEqual(list.body, []);
});

engines.test("a choice sent as an object with toString and valueOf keys is a 400 naming it, not a 500", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "R", room_type: { toString: 1, valueOf: 2 } },
  });
  assert.equal(reply.status, 400);
  assert.deepEqual(reply.body, {
    room_type: ['"{"toString":1,"valueOf":2}" is not a valid choice.'],
  });
});

engines.test("GET /api/rooms/ lists the active rooms in the documented shape", async () => {
  await using srv = await startTestServer();
  const creator = await person(srv, { name: "Creator Name" });
  const reader = await person(srv);
  const general = await createRoom(srv, creator, {
    name: "General Chat",
    description: "Main chat room",
  });
  const video = await createRoom(srv, creator, {
    name: "Video Conference",
    description: "Video chat room",
    room_type: "video",
  });
  const reply = await api(srv, "GET", "/api/rooms/", { token: reader.access });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, [general, video]);
  assert.deepEqual(reply.body[0], {
    id: general.id,
    name: "General Chat",
    description: "Main chat room",
    creator: shownAs(creator),
    room_type: "chat",
    created_at: general.created_at,
    is_active: true,
  });
});

engines.test("GET /api/rooms/{id}/ returns the room; an unknown id is 404 'Not found.'", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who, { name: "Detail", description: "d" });
  const reply = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: who.access });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, room);
  // A room of another face (a desk question) is no meet room either.
  const desk = await srv.core.desk.open(who.user.id, "How do fractions work?");
  for (
    const path of [
      "/api/rooms/999999/",
      "/api/rooms/999999/messages/",
      `/api/rooms/${desk.id}/`,
      `/api/rooms/${desk.id}/messages/`,
    ]
  ) {
    const missing = await api(srv, "GET", path, { token: who.access });
    assert.equal(missing.status, 404, path);
    assert.deepEqual(missing.body, NOT_FOUND, path);
  }
});

engines.test("PATCH /api/rooms/{id}/ by the creator changes the name and description", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who, { name: "Before", description: "old" });
  const reply = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: who.access,
    body: { name: "Updated Room Name", description: "Updated description" },
  });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, {
    ...room,
    name: "Updated Room Name",
    description: "Updated description",
  });
  const onlyName = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: who.access,
    body: { name: "Only the name" },
  });
  assert.equal(onlyName.status, 200);
  assert.equal(onlyName.body.description, "Updated description");
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: who.access });
  assert.equal(detail.body.name, "Only the name");
  assert.equal(detail.body.description, "Updated description");

  const long = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: who.access,
    body: { name: "n".repeat(101) },
  });
  assert.equal(long.status, 400);
  assert.deepEqual(Object.keys(long.body), ["name"]);
});

engines.test("PATCH /api/rooms/{id}/ with no changeable field answers 200 with the room unchanged", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who, { name: "Steady", description: "as before" });
  const reply = await api(srv, "PATCH", `/api/rooms/${room.id}/`, { token: who.access, body: {} });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.deepEqual(reply.body, room);
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: who.access });
  assert.deepEqual(detail.body, room);
});

engines.test("PATCH /api/rooms/{id}/ by another user is 403 and changes nothing", async () => {
  await using srv = await startTestServer();
  const creator = await person(srv);
  const other = await person(srv);
  const room = await createRoom(srv, creator, { name: "Mine" });
  const reply = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: other.access,
    body: { name: "Yours now" },
  });
  assert.equal(reply.status, 403);
  assert.deepEqual(reply.body, { detail: "You can only update rooms you created." });
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: creator.access });
  assert.equal(detail.body.name, "Mine");
});

engines.test("DELETE /api/rooms/{id}/ by another user is 403 and the room stays", async () => {
  await using srv = await startTestServer();
  const creator = await person(srv);
  const other = await person(srv);
  const room = await createRoom(srv, creator);
  const reply = await api(srv, "DELETE", `/api/rooms/${room.id}/`, { token: other.access });
  assert.equal(reply.status, 403);
  assert.deepEqual(reply.body, { detail: "You can only delete rooms you created." });
  const detail = await api(srv, "GET", `/api/rooms/${room.id}/`, { token: other.access });
  assert.equal(detail.status, 200);
});

engines.test("DELETE /api/rooms/{id}/ by the creator soft-deletes: gone from list, detail, messages", async () => {
  await using srv = await startTestServer();
  const creator = await person(srv);
  const other = await person(srv);
  const room = await createRoom(srv, creator, { name: "Doomed" });
  const kept = await createRoom(srv, creator, { name: "Kept" });
  await srv.core.groups.send(room.id, other.user.id, "last words");

  const reply = await api(srv, "DELETE", `/api/rooms/${room.id}/`, { token: creator.access });
  assert.equal(reply.status, 204);

  const list = await api(srv, "GET", "/api/rooms/", { token: other.access });
  assert.deepEqual(list.body.map((r: { id: number }) => r.id), [kept.id]);
  for (const path of [`/api/rooms/${room.id}/`, `/api/rooms/${room.id}/messages/`]) {
    const gone = await api(srv, "GET", path, { token: creator.access });
    assert.equal(gone.status, 404, path);
    assert.deepEqual(gone.body, NOT_FOUND, path);
  }
  const again = await api(srv, "DELETE", `/api/rooms/${room.id}/`, { token: creator.access });
  assert.equal(again.status, 404);
  const patch = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: creator.access,
    body: { name: "Back" },
  });
  assert.equal(patch.status, 404);
});

engines.test("GET /api/rooms/?room_type=video lists only video rooms", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const chat = await createRoom(srv, who, { name: "Chatty", room_type: "chat" });
  const video = await createRoom(srv, who, { name: "Cams", room_type: "video" });
  const videos = await api(srv, "GET", "/api/rooms/?room_type=video", { token: who.access });
  assert.equal(videos.status, 200);
  assert.deepEqual(videos.body, [video]);
  const chats = await api(srv, "GET", "/api/rooms/?room_type=chat", { token: who.access });
  assert.deepEqual(chats.body, [chat]);
  const bad = await api(srv, "GET", "/api/rooms/?room_type=audio", { token: who.access });
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys(bad.body), ["room_type"]);
});

engines.test("GET /api/rooms/?search= matches names case-insensitively, % and _ literally", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const general = await createRoom(srv, who, { name: "General" });
  const percent = await createRoom(srv, who, { name: "100% fun" });
  const underscore = await createRoom(srv, who, { name: "a_b" });
  await createRoom(srv, who, { name: "axb" });
  await createRoom(srv, who, { name: "100 percent" });

  const search = async (q: string) => {
    const reply = await api(srv, "GET", `/api/rooms/?search=${encodeURIComponent(q)}`, {
      token: who.access,
    });
    assert.equal(reply.status, 200, q);
    return reply.body.map((r: { id: number }) => r.id);
  };
  assert.deepEqual(await search("gen"), [general.id]);
  assert.deepEqual(await search("GENERAL"), [general.id]);
  assert.deepEqual(await search("%"), [percent.id]);
  assert.deepEqual(await search("_"), [underscore.id]);
  assert.deepEqual(await search("a_b"), [underscore.id]);
  assert.deepEqual(await search("nothing like it"), []);
});

// --- Messages ---------------------------------------------------------------------------------

engines.test("GET /api/rooms/{id}/messages/ lists messages oldest first in the documented shape", async () => {
  await using srv = await startTestServer();
  const a = await person(srv, { name: "User Name" });
  const b = await person(srv, { name: "Another User" });
  const room = await createRoom(srv, a);
  await srv.core.groups.send(room.id, a.user.id, "Hello, world!");
  await srv.core.groups.send(room.id, b.user.id, "Hi there!");

  const reply = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: b.access });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.length, 2);
  for (const message of reply.body) {
    assert.deepEqual(Object.keys(message).sort(), ["content", "created_at", "id", "user"]);
    assertIsoDate(message.created_at);
  }
  const [first, second] = reply.body;
  assert.deepEqual({ ...first, id: 0, created_at: "" }, {
    id: 0,
    user: shownAs(a),
    content: "Hello, world!",
    created_at: "",
  });
  assert.deepEqual(second.user, shownAs(b));
  assert.equal(second.content, "Hi there!");
  assert.ok(first.id < second.id);
  assert.ok(first.created_at <= second.created_at);
});

engines.test("GET /api/rooms/{id}/messages/ pages with ?before=, ?after= and ?limit=", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const ids: number[] = [];
  for (let i = 1; i <= 6; i++) {
    ids.push((await srv.core.groups.send(room.id, who.user.id, `m${i}`)).message.id);
  }
  const page = async (query: string) => {
    const reply = await api(srv, "GET", `/api/rooms/${room.id}/messages/${query}`, {
      token: who.access,
    });
    assert.equal(reply.status, 200, query);
    return reply.body.map((m: { content: string }) => m.content);
  };
  assert.deepEqual(await page(""), ["m1", "m2", "m3", "m4", "m5", "m6"]);
  assert.deepEqual(await page("?limit=2"), ["m5", "m6"]);
  assert.deepEqual(await page(`?before=${ids[3]}`), ["m1", "m2", "m3"]);
  assert.deepEqual(await page(`?before=${ids[3]}&limit=2`), ["m2", "m3"]);
  assert.deepEqual(await page(`?after=${ids[3]}`), ["m5", "m6"]);
  assert.deepEqual(await page(`?after=${ids[0]}&limit=2`), ["m2", "m3"]);
  assert.deepEqual(await page(`?after=${ids[0]}&before=${ids[4]}`), ["m2", "m3", "m4"]);

  for (const query of ["?limit=abc", "?limit=0", "?before=-1", "?after=x"]) {
    const reply = await api(srv, "GET", `/api/rooms/${room.id}/messages/${query}`, {
      token: who.access,
    });
    assert.equal(reply.status, 400, query);
  }
});

engines.test("GET /api/rooms/{id}/messages/ caps ?limit= at 100 but returns all without params", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  for (let i = 1; i <= 120; i++) await srv.core.groups.send(room.id, who.user.id, `n${i}`);

  const all = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: who.access });
  assert.equal(all.status, 200);
  assert.equal(all.body.length, 120);
  assert.deepEqual(
    all.body.map((m: { content: string }) => m.content),
    Array.from({ length: 120 }, (_, i) => `n${i + 1}`),
  );
  const ids = all.body.map((m: { id: number }) => m.id);
  assert.deepEqual(ids, [...ids].sort((x: number, y: number) => x - y));

  const capped = await api(srv, "GET", `/api/rooms/${room.id}/messages/?limit=500`, {
    token: who.access,
  });
  assert.equal(capped.status, 200);
  assert.equal(capped.body.length, 100);
  assert.equal(capped.body[0].content, "n21");
  assert.equal(capped.body[99].content, "n120");
});

// --- HTTP details -----------------------------------------------------------------------------

engines.test("an unsupported method on a known path is 405 with a detail", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  for (
    const [method, path] of [
      ["PUT", "/api/rooms/"],
      ["DELETE", "/api/rooms/"],
      ["POST", `/api/rooms/${room.id}/`],
      ["GET", "/auth/login/"],
      ["POST", `/api/rooms/${room.id}/messages/`],
    ]
  ) {
    const reply = await api(srv, method, path, { token: who.access });
    assert.equal(reply.status, 405, `${method} ${path}`);
    assert.equal(typeof reply.body.detail, "string", `${method} ${path}`);
  }
});

engines.test("a malformed JSON body is 400", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  for (
    const [method, path, token] of [
      ["POST", "/auth/register/", undefined],
      ["POST", "/auth/login/", undefined],
      ["POST", "/auth/token/refresh/", undefined],
      ["POST", "/api/rooms/", who.access],
      ["PATCH", `/api/rooms/${room.id}/`, who.access],
      ["PATCH", "/auth/profile/", who.access],
    ] as const
  ) {
    const reply = await api(srv, method, path, { token, raw: '{"name": "broken' });
    assert.equal(reply.status, 400, `${method} ${path}`);
    assert.equal(typeof reply.body.detail, "string", `${method} ${path}`);
  }
});
