// The service's Socket.IO settings that bound memory and work: the recovery log and the kept
// states of dropped clients (SOCKETIO_RECOVERY_MAX_*), and Engine.IO sessions that have not
// authenticated yet (SOCKETIO_MAX_PENDING_PER_ADDRESS).
import assert from "node:assert/strict";
import {
  ask,
  Clients,
  connected,
  engagedRoom,
  RawPolling,
  recoveryStats,
  startTestServer,
  student,
  teacher,
  type TestServer,
  waitFor,
} from "../fixtures/mod.ts";

const stats = recoveryStats;

/** A teacher's socket and a recovering student's, in one engaged room. */
async function roomWithRecoveringStudent(srv: TestServer, clients: Clients) {
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const studentSocket = clients.open({ access_token: s.access, id: s.user.id, recover: true });
  await connected(studentSocket);
  return { room, teacherSocket, studentSocket };
}

Deno.test("SOCKETIO_RECOVERY_MAX_EVENTS bounds the number of events kept for recovery", async () => {
  await using srv = await startTestServer({ SOCKETIO_RECOVERY_MAX_EVENTS: "5" });
  using clients = new Clients(srv);
  const { room, teacherSocket } = await roomWithRecoveringStudent(srv, clients);
  for (let i = 0; i < 30; i++) {
    await ask(teacherSocket, "message", { room: room.id, text: `message ${i}` });
  }
  assert.equal(stats(srv).entries, 5);
});

Deno.test("SOCKETIO_RECOVERY_MAX_BYTES bounds the bytes kept for recovery (3.9 KB messages)", async () => {
  const maxBytes = 16 * 1024;
  await using srv = await startTestServer({ SOCKETIO_RECOVERY_MAX_BYTES: String(maxBytes) });
  using clients = new Clients(srv);
  const { room, teacherSocket } = await roomWithRecoveringStudent(srv, clients);
  const text = "x".repeat(3900);
  for (let i = 0; i < 20; i++) await ask(teacherSocket, "message", { room: room.id, text });
  const { entries, bytes } = stats(srv);
  assert.ok(bytes <= maxBytes, `${bytes} bytes kept`);
  assert.ok(entries >= 3 && entries <= 4, `${entries} entries kept`);
});

Deno.test("SOCKETIO_RECOVERY_MAX_SESSIONS bounds the kept states of dropped clients", async () => {
  await using srv = await startTestServer({ SOCKETIO_RECOVERY_MAX_SESSIONS: "2" });
  using clients = new Clients(srv);
  for (let i = 0; i < 4; i++) {
    const s = await student(srv);
    const client = clients.open({ access_token: s.access, id: s.user.id, recover: true });
    await connected(client);
    const id = client.id!;
    client.io.engine.close();
    await waitFor(() => !srv.io.of("/").sockets.has(id), { what: "the drop" });
  }
  assert.equal(stats(srv).sessions, 2);
});

Deno.test("SOCKETIO_MAX_PENDING_PER_ADDRESS caps sessions that have not authenticated: 429 with Retry-After, until one connects", async () => {
  await using srv = await startTestServer({ SOCKETIO_MAX_PENDING_PER_ADDRESS: "2" });
  const s = await student(srv);
  const first = await RawPolling.open(srv.url);
  await RawPolling.open(srv.url);
  const refused = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  await refused.body?.cancel();

  assert.equal(await first.post(`40${JSON.stringify({ access_token: s.access })}`), 200);
  await waitFor(() => srv.io.of("/").sockets.size === 1, { what: "the authenticated CONNECT" });
  await RawPolling.open(srv.url);
});

Deno.test("behind TRUST_PROXY the pending-session cap counts each forwarded client address on its own", async () => {
  await using srv = await startTestServer({
    SOCKETIO_MAX_PENDING_PER_ADDRESS: "1",
    TRUST_PROXY: "1",
  });
  const handshake = async (client: string) => {
    const res = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { "x-forwarded-for": client },
    });
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await handshake("203.0.113.1"), 200);
  assert.equal(await handshake("203.0.113.2"), 200);
  assert.equal(await handshake("203.0.113.1"), 429);
});
