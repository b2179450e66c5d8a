// A desk client in another language: Debian's python3-socketio with one-parameter handlers, as
// the desk document shows one payload per event. It must get exactly that payload (no trailing
// recovery offset, which would raise a TypeError in its handler).
import assert from "node:assert/strict";
import {
  ask,
  Clients,
  engagedRoom,
  ignoreWithoutPythonSocketio,
  runPython,
  startTestServer,
  student,
  teacher,
} from "../fixtures/mod.ts";

const SCRIPT = new URL("./python/desk_client.py", import.meta.url).pathname;
const NAME = "a python-socketio client with one-parameter handlers gets the exact desk payloads";

Deno.test({
  name: NAME,
  ignore: ignoreWithoutPythonSocketio(NAME),
  async fn() {
    await using srv = await startTestServer();
    using clients = new Clients(srv);
    const s = await student(srv);
    const t = await teacher(srv);
    const room = await engagedRoom(srv, s, t);
    const teacherSocket = await clients.connect(t);
    let sent: unknown;
    const run = await runPython(SCRIPT, [srv.url, s.access, String(s.user.id)], async (printed) => {
      // The teacher is already online: the server says so to the new socket.
      await printed((line) => {
        const { event, data } = line as { event: string; data: { user?: number } };
        return event === "online" && data.user === t.user.id;
      });
      sent = await ask(teacherSocket, "message", { room: room.id, text: "Hello from Deno" });
    });
    assert.doesNotMatch(run.stderr, /TypeError|Traceback|handler error/, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.lines as { event: string; data: unknown }[];
    assert.deepEqual(lines[0], { event: "connect", data: null });
    assert.deepEqual(lines.at(-1), { event: "message", data: sent });
    // Presence: the teacher was there; the student's own arrival may be announced too.
    const online = lines.slice(1, -1);
    assert.ok(online.every((line) => line.event === "online"), JSON.stringify(online));
    const users = online.map((line) => (line.data as { user: number }).user);
    assert.ok(users.includes(t.user.id), JSON.stringify(online));
    assert.ok(users.every((id) => id === t.user.id || id === s.user.id), JSON.stringify(online));
  },
});
