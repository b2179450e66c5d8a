// Two service processes on one database file and one Redis: a desk client that asked for
// recovery drops from node A and comes back to node B within the window, with the same socket,
// its rooms, and the messages node A sent its room while it was away (node A logged them in
// Redis; node B replays them). Messages sent on A after the client is on B reach it only
// through the hub across nodes, which this test does not rely on.
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import {
  ask,
  type ClientSocket,
  connected,
  engagedRoom,
  ignoreWithoutRedis,
  once,
  record,
  startCluster,
  student,
  teacher,
  waitFor,
} from "../fixtures/mod.ts";

const NAME = "desk recovery across two service processes";
const ignore = ignoreWithoutRedis(NAME);

Deno.test({
  name: `${NAME}: a client dropped from node A resumes on node B with the messages it missed`,
  ignore,
}, async () => {
  const clients: ClientSocket[] = [];
  try {
    await using cluster = await startCluster({ env: { SOCKETIO_RECOVERY_WINDOW: "30s" } });
    const [a, b] = cluster.nodes;
    const redis = cluster.redis;
    const s = await student(cluster);
    const t = await teacher(cluster);
    const room = await engagedRoom({ core: cluster.core } as never, s, t);

    const open = (url: string, auth: Record<string, unknown>) => {
      const client = connect(url, { auth, forceNew: true, reconnection: false });
      clients.push(client);
      return client;
    };
    const teacherOnA = open(a.url, { access_token: t.access, id: t.user.id });
    const studentOnA = open(a.url, { access_token: s.access, id: s.user.id, recover: true });
    await Promise.all([connected(teacherOnA), connected(studentOnA)]);
    const firstId = studentOnA.id!;

    const first = once<[{ text: string }, string]>(studentOnA, "message");
    await ask(teacherOnA, "message", { room: room.id, text: "before the drop" });
    const [, offset] = await first;
    assert.equal(typeof offset, "string", "a recovering client gets offsets");
    const { _pid: pid } = studentOnA as unknown as { _pid: string };

    // The drop: node A keeps the state in Redis.
    studentOnA.io.engine.close();
    await waitFor(async () => (await redis.command("KEYS", "*session#*")).includes(pid), {
      what: "the state kept in Redis",
    });

    // While it is away, the teacher writes twice on node A.
    await ask(teacherOnA, "message", { room: room.id, text: "missed one" });
    await ask(teacherOnA, "message", { room: room.id, text: "missed two" });

    // It comes back to node B (another node behind the load balancer) with its pid and offset.
    const studentOnB = open(b.url, {
      access_token: s.access,
      id: s.user.id,
      recover: true,
      pid,
      offset,
    });
    const seen = record(studentOnB);
    await connected(studentOnB);
    assert.equal(studentOnB.id, firstId, "the same socket");
    await waitFor(() => seen.filter((e) => e[0] === "message").length === 2, {
      what: "the missed messages",
    });
    const texts = seen.filter((e) => e[0] === "message").map((e) =>
      (e[1] as { text: string }).text
    );
    assert.deepEqual(texts, ["missed one", "missed two"]);
    // Its rooms came along: node B answers for it as a member of the room.
    const reply = await ask(studentOnB, "message", { room: room.id, text: "back, on B" });
    assert.equal(reply?.error, undefined, JSON.stringify(reply));
  } finally {
    for (const client of clients) client.disconnect();
  }
});
