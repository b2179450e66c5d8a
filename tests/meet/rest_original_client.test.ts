// The meet face's accounts as the original Rooms front-end calls them (github faslkp/rooms, its
// later versions): every /auth/... endpoint also answers under /api/auth/..., the same handlers,
// and registration takes the front-end's `confirm_password` (optional for other clients).
import assert from "node:assert/strict";
import {
  api,
  assertIsoDate,
  engines,
  newSession,
  PASSWORD,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

const MISMATCH = { confirm_password: ["Passwords do not match."] };

engines.test("the original front-end's account flow works under /api/auth/: register, login, profile, refresh, rename, logout, delete", async () => {
  await using srv = await startTestServer();
  const email = "ada@example.com";
  const registered = await api(srv, "POST", "/api/auth/register/", {
    body: { name: "Ada Lovelace", email, password: PASSWORD, confirm_password: PASSWORD },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  assert.deepEqual(Object.keys(registered.body).sort(), ["date_joined", "email", "id", "name"]);
  assert.equal(registered.body.email, email);
  assert.equal(registered.body.name, "Ada Lovelace");
  assertIsoDate(registered.body.date_joined);

  const login = await api(srv, "POST", "/api/auth/login/", { body: { email, password: PASSWORD } });
  assert.equal(login.status, 200);
  assert.deepEqual(Object.keys(login.body).sort(), ["access", "refresh"]);

  // The front-end fetches the profile right after logging in.
  const profile = await api(srv, "GET", "/api/auth/profile/", { token: login.body.access });
  assert.equal(profile.status, 200);
  assert.deepEqual(profile.body, registered.body);

  const refreshed = await api(srv, "POST", "/api/auth/token/refresh/", {
    body: { refresh: login.body.refresh },
  });
  assert.equal(refreshed.status, 200);
  assert.equal(typeof refreshed.body.access, "string");

  const renamed = await api(srv, "PATCH", "/api/auth/profile/", {
    token: refreshed.body.access,
    body: { name: "Augusta Ada King" },
  });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.name, "Augusta Ada King");

  // One account behind both paths: the document's path sees the rename.
  const viaDocument = await api(srv, "GET", "/auth/profile/", { token: refreshed.body.access });
  assert.deepEqual(viaDocument.body, renamed.body);

  const second = await api(srv, "POST", "/auth/login/", { body: { email, password: PASSWORD } });
  const out = await api(srv, "POST", "/api/auth/logout/", { token: refreshed.body.access });
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, { message: "Successfully logged out" });
  const afterOut = await api(srv, "GET", "/api/auth/profile/", { token: refreshed.body.access });
  assert.equal(afterOut.status, 401);

  const deleted = await api(srv, "DELETE", "/api/auth/profile/", { token: second.body.access });
  assert.equal(deleted.status, 204);
  const again = await api(srv, "POST", "/api/auth/login/", { body: { email, password: PASSWORD } });
  assert.equal(again.status, 401);
  assert.deepEqual(again.body, { detail: "No active account found with the given credentials" });
});

engines.test("/api/auth/ answers like /auth/: 401 without a token, 405 for a wrong method, 404 off the list", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  for (const prefix of ["/auth", "/api/auth"]) {
    const anonymous = await api(srv, "GET", `${prefix}/profile/`);
    assert.equal(anonymous.status, 401, prefix);
    assert.deepEqual(anonymous.body, { detail: "Authentication credentials were not provided." });
    const anonymousOut = await api(srv, "POST", `${prefix}/logout/`);
    assert.equal(anonymousOut.status, 401, prefix);

    for (const path of ["/login/", "/register/", "/token/refresh/", "/logout/"]) {
      const wrong = await api(srv, "GET", prefix + path, { token: who.access });
      assert.equal(wrong.status, 405, prefix + path);
      assert.equal(typeof wrong.body.detail, "string", prefix + path);
    }
    const unknown = await api(srv, "GET", `${prefix}/nothing-here/`, { token: who.access });
    assert.equal(unknown.status, 404, prefix);

    const badJson = await api(srv, "POST", `${prefix}/login/`, { raw: '{"email": "x' });
    assert.equal(badJson.status, 400, prefix);
  }
});

engines.test("register with a confirm_password that differs is 400 {confirm_password: ['Passwords do not match.']} on both paths, and creates nothing", async () => {
  await using srv = await startTestServer();
  const body = {
    name: "Mismatched",
    email: "mismatch@example.com",
    password: PASSWORD,
    confirm_password: `${PASSWORD}!`,
  };
  for (const path of ["/auth/register/", "/api/auth/register/"]) {
    const reply = await api(srv, "POST", path, { body });
    assert.equal(reply.status, 400, path);
    assert.deepEqual(reply.body, MISMATCH, path);
  }
  // Case and surrounding spaces count: the two must be the same string.
  for (const confirm of [PASSWORD.toUpperCase(), ` ${PASSWORD}`, ""]) {
    const reply = await api(srv, "POST", "/api/auth/register/", {
      body: { ...body, confirm_password: confirm },
    });
    assert.equal(reply.status, 400, JSON.stringify(confirm));
    assert.deepEqual(reply.body, MISMATCH, JSON.stringify(confirm));
  }
  // Nothing was created: the e-mail is still free.
  const ok = await api(srv, "POST", "/api/auth/register/", {
    body: { ...body, confirm_password: PASSWORD },
  });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

engines.test("register without confirm_password still works; a matching one is accepted and not echoed", async () => {
  await using srv = await startTestServer();
  const without = await api(srv, "POST", "/api/auth/register/", {
    body: { name: "No Confirm", email: "none@example.com", password: PASSWORD },
  });
  assert.equal(without.status, 201);
  const matching = await api(srv, "POST", "/auth/register/", {
    body: {
      name: "Confirmed",
      email: "confirmed@example.com",
      password: PASSWORD,
      confirm_password: PASSWORD,
    },
  });
  assert.equal(matching.status, 201);
  assert.deepEqual(Object.keys(matching.body).sort(), ["date_joined", "email", "id", "name"]);
  const login = await api(srv, "POST", "/auth/login/", {
    body: { email: "confirmed@example.com", password: PASSWORD },
  });
  assert.equal(login.status, 200);
});

engines.test("register compares confirm_password only once the fields are valid, and checks its type", async () => {
  await using srv = await startTestServer();
  // An invalid e-mail is reported alone, as DRF runs validate() only after the fields pass.
  const badEmail = await api(srv, "POST", "/api/auth/register/", {
    body: { name: "X", email: "not-an-email", password: PASSWORD, confirm_password: "other" },
  });
  assert.equal(badEmail.status, 400);
  assert.deepEqual(Object.keys(badEmail.body), ["email"]);

  for (const confirm of [42, null, ["a"], { a: 1 }, "x".repeat(1025)]) {
    const reply = await api(srv, "POST", "/api/auth/register/", {
      body: {
        name: "Y",
        email: "typed@example.com",
        password: PASSWORD,
        confirm_password: confirm,
      },
    });
    assert.equal(reply.status, 400, JSON.stringify(confirm).slice(0, 40));
    assert.deepEqual(Object.keys(reply.body), ["confirm_password"]);
    assert.equal(typeof reply.body.confirm_password[0], "string");
  }

  // A weak password that matches its confirmation is refused for what it is.
  const weak = await api(srv, "POST", "/api/auth/register/", {
    body: {
      name: "W",
      email: "weak@example.com",
      password: "password123",
      confirm_password: "password123",
    },
  });
  assert.equal(weak.status, 400);
  assert.deepEqual(Object.keys(weak.body), ["password"]);
});

engines.test("a token from /api/auth/login/ opens the rooms API and another session is unaffected by its logout", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const other = await newSession(srv, who);
  const login = await api(srv, "POST", "/api/auth/login/", {
    body: { email: who.email, password: PASSWORD },
  });
  const rooms = await api(srv, "GET", "/api/rooms/", { token: login.body.access });
  assert.equal(rooms.status, 200);
  assert.deepEqual(rooms.body, []);
  assert.equal(
    (await api(srv, "POST", "/api/auth/logout/", { token: login.body.access })).status,
    200,
  );
  assert.equal((await api(srv, "GET", "/api/rooms/", { token: other.access })).status, 200);
});
