// Absolute URLs in desk broadcasts (room_joined, new_room) come from PUBLIC_URL or from each
// client's own connection: a client with a forged Host header changes only what it receives.
import assert from "node:assert/strict";
import {
  ask,
  Clients,
  next,
  openRoom,
  RawPolling,
  startTestServer,
  student,
  teacher,
  type TestServer,
} from "../fixtures/mod.ts";
import type { Person } from "../fixtures/mod.ts";

const EVIL = "evil.example";

/** A desk connection by long-polling whose handshake said `Host: evil.example`. */
async function forgedHostClient(srv: TestServer, who: Person): Promise<RawPolling> {
  const session = await RawPolling.openWithHeaders(srv.url, { Host: EVIL });
  assert.equal(await session.post(`40${JSON.stringify({ access_token: who.access })}`), 200);
  const { packets } = await session.get();
  assert.ok(packets.some((p) => p.startsWith("40{")), `not connected: ${packets}`);
  return session;
}

/** The payload of the first `event` among the packets polled from `session`. */
async function polledEvent(session: RawPolling, event: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 20; i++) {
    const { packets } = await session.get();
    for (const packet of packets) {
      if (!packet.startsWith("42")) continue;
      const [name, payload] = JSON.parse(packet.slice(2));
      if (name === event) return payload;
    }
  }
  throw new Error(`no ${event} polled`);
}

Deno.test("a forged Host header changes the image URLs its own client receives, never another client's", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const honest = await clients.connect(s);
  const forged = await forgedHostClient(srv, s);
  const teacherSocket = await clients.connect(t);

  const toHonest = next(honest, "room_joined");
  const toTeacher = next(teacherSocket, "room_joined");
  assert.equal((await ask(teacherSocket, "join_room", { room: room.id }))?.error, undefined);
  const honestImage = (await toHonest).teacher.image as string;
  const teacherImage = (await toTeacher).teacher.image as string;
  const forgedImage = ((await polledEvent(forged, "room_joined")).teacher as { image: string })
    .image;

  assert.ok(honestImage.startsWith(`${srv.url}/`), honestImage);
  assert.ok(teacherImage.startsWith(`${srv.url}/`), teacherImage);
  assert.ok(forgedImage.startsWith(`http://${EVIL}/`), forgedImage);
});

Deno.test("new_room announced from a client with a forged Host reaches teachers with their own URLs", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const teacherSocket = await clients.connect(t);
  const forged = await forgedHostClient(srv, s);
  const room = await openRoom(srv, s);

  const announced = next(teacherSocket, "new_room");
  assert.equal(await forged.post(`421${JSON.stringify(["new_room", { room: room.id }])}`), 200);
  const shown = await announced;
  assert.ok(shown.student.image.startsWith(`${srv.url}/`), shown.student.image);
});

Deno.test("with PUBLIC_URL set, every client gets URLs on it, whatever Host it sent", async () => {
  await using srv = await startTestServer({ PUBLIC_URL: "https://chat.example.com" });
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const forged = await forgedHostClient(srv, s);
  const teacherSocket = await clients.connect(t);
  const toTeacher = next(teacherSocket, "room_joined");
  await ask(teacherSocket, "join_room", { room: room.id });
  assert.ok((await toTeacher).teacher.image.startsWith("https://chat.example.com/"));
  const forgedImage = ((await polledEvent(forged, "room_joined")).teacher as { image: string })
    .image;
  assert.ok(forgedImage.startsWith("https://chat.example.com/"), forgedImage);
});
