// The shared heartbeat: one timer wakes every session's ping and pong deadline. The Heartbeat
// itself, then sessions of a real EngineServer sharing it (silent ones closed, answering ones
// kept).
import assert from "node:assert/strict";
import { Heartbeat, type HeartbeatEntry } from "@/realtime/socketio/engine/heartbeat.ts";
import { ENGINE_DEFAULTS } from "@/realtime/socketio/engine/options.ts";
import { EngineServer } from "@/realtime/socketio/engine/server.ts";
import type { CloseReason } from "@/realtime/socketio/engine/session.ts";
import { waitFor, WsConn } from "../fixtures/mod.ts";

/** An entry that counts its beats and can run something when woken. */
function entry(onBeat: () => void = () => {}): HeartbeatEntry & { beats: number } {
  return {
    _slot: -1,
    beats: 0,
    _beat() {
      this.beats++;
      onBeat();
    },
  };
}

Deno.test("the heartbeat wakes every scheduled entry once, and then has nothing waiting", async () => {
  const heartbeat = new Heartbeat(5);
  const entries = [entry(), entry(), entry()];
  heartbeat.schedule(entries[0], 0);
  heartbeat.schedule(entries[1], 10);
  heartbeat.schedule(entries[2], 30);
  assert.equal(heartbeat.size, 3);
  await waitFor(() => entries.every((e) => e.beats === 1));
  assert.equal(heartbeat.size, 0);
  assert.deepEqual(entries.map((e) => e._slot), [-1, -1, -1]);
});

Deno.test("a cancelled entry is not woken; a rescheduled one is woken once, at its new time", async () => {
  const heartbeat = new Heartbeat(5);
  const cancelled = entry();
  const moved = entry();
  const witness = entry();
  heartbeat.schedule(cancelled, 10);
  heartbeat.schedule(moved, 10);
  heartbeat.schedule(moved, 40);
  heartbeat.schedule(witness, 60);
  heartbeat.cancel(cancelled);
  assert.equal(heartbeat.size, 2);
  await waitFor(() => witness.beats === 1);
  assert.equal(cancelled.beats, 0);
  assert.equal(moved.beats, 1);
});

Deno.test("an entry cancelled by another's beat in the same bucket is not woken", async () => {
  const heartbeat = new Heartbeat(50);
  const victim = entry();
  const first = entry(() => heartbeat.cancel(victim));
  const last = entry(() => heartbeat.cancel(first));
  // One bucket: whichever runs first cancels the other, so exactly one of the pair beats.
  heartbeat.schedule(first, 0);
  heartbeat.schedule(victim, 0);
  heartbeat.schedule(last, 0);
  await waitFor(() => last.beats === 1);
  assert.equal(first.beats, 1);
  assert.equal(victim.beats, 0);
});

Deno.test("an entry may schedule itself again from its beat, and the heartbeat keeps going", async () => {
  const heartbeat = new Heartbeat(2);
  const repeating: HeartbeatEntry & { beats: number } = {
    _slot: -1,
    beats: 0,
    _beat() {
      if (++this.beats < 5) heartbeat.schedule(this, 5);
    },
  };
  heartbeat.schedule(repeating, 5);
  await waitFor(() => repeating.beats === 5);
  assert.equal(heartbeat.size, 0);
});

Deno.test("stop forgets every entry (no timer is left behind)", () => {
  const heartbeat = new Heartbeat(1000);
  const a = entry();
  heartbeat.schedule(a, 5_000);
  heartbeat.stop();
  assert.equal(heartbeat.size, 0);
  assert.equal(a._slot, -1);
});

Deno.test("sessions share one heartbeat: a silent one is closed for ping timeout, answering ones stay open", async () => {
  const engine = new EngineServer({
    ...ENGINE_DEFAULTS,
    path: "/engine.io/",
    pingInterval: 50,
    pingTimeout: 100,
  });
  const reasons = new Map<string, CloseReason>();
  engine.onSession = (session) => {
    session.listener = { onMessage() {}, onClose: (reason) => reasons.set(session.id, reason) };
  };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req, info) => engine.handle(req, info),
  );
  const url = `ws://127.0.0.1:${server.addr.port}/engine.io/?EIO=4&transport=websocket`;
  const answering = [new WsConn(url, true), new WsConn(url, true), new WsConn(url, true)];
  const silent = new WsConn(url, false);
  try {
    await waitFor(() => engine.sessions.size === 4 && silent.received.length > 0);
    const silentSid = [...engine.sessions.keys()].find((sid) =>
      silent.received.some((f) => typeof f === "string" && f.includes(sid))
    );
    assert.ok(silentSid, "the silent client got its open packet");
    await silent.closed;
    await waitFor(() => reasons.size === 1);
    assert.deepEqual([...reasons], [[silentSid, "ping timeout"]]);
    assert.ok(silent.received.includes("2"), "it was pinged first");
    // The others answer ping after ping and are kept.
    const pings = (conn: WsConn) => conn.received.filter((f) => f === "2").length;
    await waitFor(() => answering.every((conn) => pings(conn) >= 4));
    assert.equal(engine.sessions.size, 3);
    assert.equal(engine.heartbeat.size, 3);
    for (const conn of answering) assert.equal(conn.ws.readyState, WebSocket.OPEN);
    assert.equal(reasons.size, 1);
  } finally {
    for (const conn of [...answering, silent]) await conn.close();
    engine.close();
    await server.shutdown();
  }
  assert.equal(engine.heartbeat.size, 0);
});
