// Nodes and Redis failing, with real service processes: a node killed with SIGKILL stops
// counting its users within PRESENCE_TTL + PRESENCE_HEARTBEAT; Redis going away leaves every
// node serving its own clients (messages committed and acknowledged, /readyz degraded with the
// reason, a log line), and when it is back delivery across nodes resumes and presence is stated
// again.
import assert from "node:assert/strict";
import {
  api,
  CLUSTER_PRESENCE,
  type ClusterNode,
  createRoom,
  expectChat,
  ignoreWithoutRedis,
  join,
  loungeOk,
  loungeSocket,
  type Person,
  person,
  startCluster,
  waitFor,
} from "../fixtures/mod.ts";

/** The documented bound, with room for a loaded machine. */
const OFFLINE_WITHIN_MS = (CLUSTER_PRESENCE.ttlSeconds + CLUSTER_PRESENCE.heartbeatSeconds) *
    1000 + 3000;

async function shownOnline(node: ClusterNode, viewer: Person, userId: number): Promise<boolean> {
  const users: { user_id: number; is_online: boolean }[] = await loungeOk(
    node,
    "GET",
    "/users",
    viewer,
  );
  return users.find((u) => u.user_id === userId)?.is_online ?? false;
}

Deno.test({
  name:
    "a node killed with SIGKILL: its users go offline on the other nodes within the bound, users also on a live node stay online",
  ignore: ignoreWithoutRedis("cluster SIGKILL"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster({ nodes: 3 });
    const [a, b, c] = cluster.nodes;
    const bob = await person(b);
    const carol = await person(c);
    const dave = await person(a);
    await using watcher = await loungeSocket(b, bob);
    const carolSocket = await loungeSocket(c, carol);
    const daveOnC = await loungeSocket(c, dave);
    await using _daveOnA = await loungeSocket(a, dave);
    await watcher.frame("user_activity", (f) => f.user_id === carol.user.id && f.login);
    await waitFor(() => shownOnline(b, bob, dave.user.id), { what: "dave online" });

    await c.kill("SIGKILL");
    await watcher.frame(
      "user_activity",
      (f) => f.user_id === carol.user.id && !f.login,
      OFFLINE_WITHIN_MS,
    );
    assert.equal(await shownOnline(b, bob, carol.user.id), false);
    assert.equal(await shownOnline(a, dave, carol.user.id), false);
    // Dave still has a socket on A.
    assert.equal(await shownOnline(b, bob, dave.user.id), true);
    assert.ok(!watcher.all("user_activity").some((f) => f.user_id === dave.user.id && !f.login));
    // The killed node's sockets are simply gone.
    await carolSocket.closed;
    await daveOnC.closed;
  },
});

Deno.test({
  name:
    "Redis restarted under two nodes: each keeps serving and says it is degraded, then delivery and presence resume",
  ignore: ignoreWithoutRedis("cluster redis restart"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startCluster();
    const [a, b] = cluster.nodes;
    const ann = await person(a);
    const bob = await person(b);
    const room = await createRoom(a, ann);
    await using sa = await join(a, ann, room.id);
    await using sb = await join(b, bob, room.id);
    sa.say("before");
    await expectChat(sb, "before");
    await expectChat(sa, "before");

    await cluster.redis.stop();
    await waitFor(async () => (await a.readiness()).body.status === "degraded", {
      what: "A degraded",
    });
    const readiness = await a.readiness();
    assert.equal(readiness.status, 200);
    assert.match(String(readiness.body.reason), /redis/);
    // A's own clients are served: committed, then sent to the room's sockets on A.
    sa.say("during");
    await expectChat(sa, "during");
    const history = await api(b, "GET", `/api/rooms/${room.id}/messages/`, { token: bob.access });
    assert.equal(history.status, 200);
    assert.ok(JSON.stringify(history.body).includes("during"), "committed, in the history");

    await cluster.redis.start();
    await waitFor(async () => {
      const [ra, rb] = await Promise.all([a.readiness(), b.readiness()]);
      return ra.body.status === "ready" && rb.body.status === "ready";
    }, { what: "both ready again", ms: 15_000 });
    sa.say("after");
    await sb.message((text) => text.includes('"after"'));
    sb.say("back");
    await sa.message((text) => text.includes('"back"'));
    // Redis came back empty: each node stated its users again.
    await waitFor(() => shownOnline(b, bob, ann.user.id), { what: "ann online on B again" });
    for (const node of [a, b]) {
      assert.ok(node.logs().some((line) => line.includes('"msg":"redis unavailable"')));
      assert.ok(node.logs().some((line) => line.includes('"msg":"redis connected again"')));
    }
  },
});
