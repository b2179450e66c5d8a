// The documented responses are what the routes answer: real requests to every face, each
// response body checked (ajv, JSON Schema 2020-12) against the schema the OpenAPI document gives
// for its operation and status. The document itself is checked against the OpenAPI 3.1 schema.
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { api, person, startTestServer, type TestServer } from "../fixtures/mod.ts";

// deno-lint-ignore no-explicit-any
type Doc = any;

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

async function documented(srv: TestServer) {
  const doc: Doc = (await api(srv, "GET", "/openapi.json")).body;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, "openapi");
  /** Sends a request and checks its status and body against the document. */
  return async function call(
    method: string,
    template: string,
    path: string,
    options: { token?: string; body?: unknown; status: number },
  ) {
    const reply = await api(srv, method, path, options);
    const where = `${method} ${path}`;
    assert.equal(reply.status, options.status, `${where}: ${JSON.stringify(reply.body)}`);
    const response = doc.paths[template]?.[method.toLowerCase()]?.responses?.[options.status];
    assert.ok(response, `${where}: status ${options.status} is documented`);
    const json = response.content?.["application/json"];
    assert.ok(json?.schema, `${where}: a JSON body is documented for ${options.status}`);
    const ref = `openapi#/${
      pointer("paths", template, method.toLowerCase(), "responses", String(options.status))
    }/content/application~1json/schema`;
    const validate = ajv.getSchema(ref);
    assert.ok(validate, ref);
    assert.ok(
      validate(reply.body),
      `${where}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(reply.body)}`,
    );
    return reply.body;
  };
}

Deno.test("the OpenAPI document is valid OpenAPI 3.1", async () => {
  await using srv = await startTestServer();
  const doc = (await api(srv, "GET", "/openapi.json")).body;
  const result = await new Validator().validate(doc);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1));
});

Deno.test("every face answers what the OpenAPI document says it does", async () => {
  await using srv = await startTestServer();
  const call = await documented(srv);
  const ann = await person(srv, { name: "Ann Able", username: "ann" });
  const bob = await person(srv, { name: "Bob Baker", username: "bob" });
  const token = ann.access;

  // ops
  await call("GET", "/healthz", "/healthz", { status: 200 });
  await call("GET", "/readyz", "/readyz", { status: 200 });

  // desk
  await call("POST", "/api/token/", "/api/token/", {
    body: { username: "ann", password: ann.password },
    status: 200,
  });
  await call("POST", "/api/token/", "/api/token/", { body: {}, status: 400 });
  await call("POST", "/api/token/refresh/", "/api/token/refresh/", {
    body: { refresh: ann.refresh },
    status: 200,
  });
  const deskRoom = await call("POST", "/api/room/", "/api/room/", {
    token,
    body: { text: "Fractions?" },
    status: 201,
  });
  await call("GET", "/api/room/", "/api/room/", { token, status: 200 });
  await call("GET", "/api/room/", "/api/room/", { status: 401 });
  await call("GET", "/api/{room}/messages/", `/api/${deskRoom.id}/messages/`, {
    token,
    status: 200,
  });

  // meet
  await call("POST", "/auth/register/", "/auth/register/", {
    body: { email: "cy@example.com", name: "Cy Clark", password: "a-long-passphrase-9" },
    status: 201,
  });
  await call("POST", "/auth/login/", "/auth/login/", {
    body: { email: "cy@example.com", password: "a-long-passphrase-9" },
    status: 200,
  });
  await call("GET", "/auth/profile/", "/auth/profile/", { token, status: 200 });
  const meetRoom = await call("POST", "/api/rooms/", "/api/rooms/", {
    token,
    body: { name: "Standup", room_type: "video" },
    status: 201,
  });
  await call("GET", "/api/rooms/", "/api/rooms/", { token, status: 200 });
  await call("GET", "/api/rooms/{id}/", `/api/rooms/${meetRoom.id}/`, { token, status: 200 });
  await call("GET", "/api/rooms/{id}/", "/api/rooms/999999/", { token, status: 404 });
  await call("GET", "/api/rooms/{id}/messages/", `/api/rooms/${meetRoom.id}/messages/`, {
    token,
    status: 200,
  });

  // live (and a message the inbox and lounge then list)
  const liveRoom = await call("POST", "/room/add", "/room/add", {
    token,
    body: { owner: ann.user.id, abonent: bob.user.id },
    status: 200,
  });
  await call("POST", "/room/message", "/room/message", {
    token,
    body: { room_id: liveRoom.id, message: "hello Bob" },
    status: 200,
  });
  await call("GET", "/room/list", "/room/list", { token, status: 200 });
  await call("GET", "/room/select/{id}", `/room/select/${liveRoom.id}`, { token, status: 200 });

  // inbox
  await call("GET", "/api/conversations", "/api/conversations", { token, status: 200 });
  await call("GET", "/api/conversations", "/api/conversations?limit=5", { token, status: 200 });
  await call("GET", "/api/rooms/{username}/messages", "/api/rooms/bob/messages", {
    token,
    status: 200,
  });
  await call("GET", "/api/userauth/users/{id}/", `/api/userauth/users/${bob.user.id}/`, {
    token,
    status: 200,
  });

  // lounge
  await call("POST", "/http/login", "/http/login", {
    body: { email: ann.email, password: ann.password },
    status: 200,
  });
  await call("GET", "/http/users", "/http/users", { token, status: 200 });
  await call("GET", "/http/users/profile", "/http/users/profile", { token, status: 200 });
  const group = await call("POST", "/http/chat_groups", "/http/chat_groups", {
    token,
    body: { name: "Readers" },
    status: 201,
  });
  await call("GET", "/http/chat_groups", "/http/chat_groups", { token, status: 200 });
  await call("PUT", "/http/chat_groups/{id}", `/http/chat_groups/${group.chat_group_id}`, {
    token,
    body: { name: "Book club" },
    status: 200,
  });
  await call("GET", "/http/chat_rooms", "/http/chat_rooms", { token: bob.access, status: 200 });
  await call("GET", "/http/notifications", "/http/notifications", {
    token: bob.access,
    status: 200,
  });
  await call("GET", "/http/chat_rooms/{id}", `/http/chat_rooms/${liveRoom.id}`, {
    token,
    status: 200,
  });
  await call("POST", "/http/chat_groups", "/http/chat_groups", {
    token,
    body: { name: "" },
    status: 400,
  });
});
