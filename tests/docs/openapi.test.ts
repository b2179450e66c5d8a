// The OpenAPI document at /openapi.json describes exactly the app's HTTP routes: a route the
// document leaves out, or an operation no route answers, fails here. WebSocket upgrade routes
// are not HTTP operations: they must be the AsyncAPI document's WebSocket channels instead.
import assert from "node:assert/strict";
import { openApiPath } from "@/routes/openapi.ts";
import { api, startTestServer, type TestServer } from "../fixtures/mod.ts";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

// deno-lint-ignore no-explicit-any
type Doc = any;

async function documents(srv: TestServer): Promise<{ openapi: Doc; asyncapi: Doc }> {
  const openapi = await api(srv, "GET", "/openapi.json");
  const asyncapi = await api(srv, "GET", "/asyncapi.json");
  assert.equal(openapi.status, 200);
  assert.equal(asyncapi.status, 200);
  return { openapi: openapi.body, asyncapi: asyncapi.body };
}

/** `GET /api/rooms/{id}/` for every route of the app (middlewares, method ALL, left out). */
function routesOf(srv: TestServer): Set<string> {
  return new Set(
    srv.app.routes.filter((r) => r.method !== "ALL").map((r) =>
      `${r.method} ${openApiPath(r.path)}`
    ),
  );
}

function operationsOf(doc: Doc): Set<string> {
  const found = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
    for (const method of Object.keys(item)) {
      if (METHODS.includes(method)) found.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return found;
}

/** The raw WebSocket channels' upgrade routes (Socket.IO's is served outside the app). */
function upgradeRoutes(asyncapi: Doc): Set<string> {
  return new Set(
    Object.values(asyncapi.channels as Record<string, Doc>)
      .filter((channel) => channel["x-transport"] === "websocket")
      .map((channel) => `GET ${channel.address}`),
  );
}

for (const shape of ["array", "results"]) {
  Deno.test(`every HTTP route is in the OpenAPI document and nothing else (MEET_MESSAGES_SHAPE=${shape})`, async () => {
    await using srv = await startTestServer({ MEET_MESSAGES_SHAPE: shape });
    const { openapi, asyncapi } = await documents(srv);
    const routes = routesOf(srv);
    const sockets = upgradeRoutes(asyncapi);
    for (const socket of sockets) {
      assert.ok(routes.has(socket), `the AsyncAPI channel ${socket} is a route of the app`);
    }
    const http = [...routes].filter((r) => !sockets.has(r)).sort();
    const documented = [...operationsOf(openapi)].sort();
    assert.deepEqual(
      http.filter((r) => !documented.includes(r)),
      [],
      "routes the OpenAPI document does not describe",
    );
    assert.deepEqual(
      documented.filter((op) => !http.includes(op)),
      [],
      "operations no route answers",
    );
    assert.ok(documented.length > 50);
  });
}

Deno.test("the OpenAPI document groups operations by face, with summaries, auth and DRF errors", async () => {
  await using srv = await startTestServer();
  const { openapi } = await documents(srv);
  assert.equal(openapi.openapi, "3.1.0");
  const faces = ["desk", "meet", "inbox", "live", "lounge"];
  assert.deepEqual(openapi.tags.map((t: Doc) => t.name), [...faces, "ops"]);
  const tagged = new Set<string>();
  const schemes = Object.keys(openapi.components.securitySchemes);
  for (const [path, item] of Object.entries(openapi.paths as Record<string, Doc>)) {
    for (const [method, op] of Object.entries(item as Record<string, Doc>)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.equal(op.tags?.length, 1, `${where} has one tag`);
      tagged.add(op.tags[0]);
      assert.ok(op.summary, `${where} has a summary`);
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) {
          assert.ok(schemes.includes(name), `${where}: ${name} is a declared scheme`);
        }
      }
      if (op.security?.some((r: Doc) => "bearer" in r)) {
        assert.ok(op.responses["401"], `${where} documents its 401`);
      }
      if (op.requestBody?.required || op.parameters?.some((p: Doc) => p.in === "query")) {
        assert.ok(op.responses["400"], `${where} documents its 400`);
      }
    }
  }
  assert.deepEqual([...tagged].sort(), [...faces, "ops"].sort());

  // The schemes each face accepts, and the DRF shapes.
  const room = openapi.paths["/api/room/"].get;
  const names = room.security.flatMap((r: Doc) => Object.keys(r));
  assert.deepEqual(names, [
    "bearer",
    "jwtPrefix",
    "tokenPrefix",
    "bareAuthorization",
    "authentication",
    "session",
  ]);
  assert.equal(openapi.components.securitySchemes.authentication.name, "authentication");
  assert.equal(openapi.components.securitySchemes.session.in, "cookie");
  const profile = openapi.paths["/http/users/profile"].get;
  assert.ok(!profile.security.some((r: Doc) => "session" in r), "only desk takes the cookie");
  const token = openapi.paths["/api/token/"].post;
  assert.deepEqual(token.requestBody.content["application/json"].schema.required, [
    "username",
    "password",
  ]);
  assert.deepEqual(token.responses["400"].content["application/json"].schema, {
    $ref: "#/components/schemas/FieldErrors",
  });
  assert.equal(openapi.components.schemas.FieldErrors.additionalProperties.type, "array");
  assert.deepEqual(
    openapi.components.schemas.Detail.required,
    ["detail"],
  );
  const meetRoom = openapi.paths["/api/rooms/{id}/"].get;
  assert.equal(
    meetRoom.parameters.find((p: Doc) => p.name === "id").schema.pattern,
    "^(?:[0-9]+)$",
  );
  const history = openapi.paths["/api/{room}/messages/"].get;
  assert.deepEqual(
    history.parameters.filter((p: Doc) => p.in === "query").map((p: Doc) => p.name),
    ["before", "limit"],
  );
});

Deno.test("documented request schemas are the ones that validate: a body the schema refuses is a DRF 400", async () => {
  await using srv = await startTestServer();
  const { openapi } = await documents(srv);
  const body = openapi.paths["/api/rooms/"].post.requestBody.content["application/json"].schema;
  assert.ok(body.required.includes("room_type"));
  const reply = await api(srv, "POST", "/auth/register/", { body: { email: "nope" } });
  assert.equal(reply.status, 400);
  const registration = openapi.paths["/auth/register/"].post.requestBody.content;
  for (const field of Object.keys(reply.body)) {
    assert.ok(
      field in registration["application/json"].schema.properties,
      `${field} is a documented field`,
    );
  }
});
