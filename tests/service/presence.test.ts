// Presence is the core's, counted from every face's connections: someone connected only on
// meet is online for desk, and goes offline when that connection ends.
import {
  Clients,
  createRoom,
  engagedRoom,
  join,
  nextAbout,
  startTestServer,
  student,
  teacher,
} from "../fixtures/mod.ts";

Deno.test("a teacher connected only on meet is online for their desk student, and offline once that socket closes", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);

  const online = nextAbout(studentSocket, "online", t.user.id);
  const meetRoom = await createRoom(srv, t);
  const meet = await join(srv, t, meetRoom.id);
  await online;

  const offline = nextAbout(studentSocket, "offline", t.user.id);
  await meet.close();
  await offline;
});
