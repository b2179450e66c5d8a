// The memory adapter on its own: two indexes kept in step, one encoding per broadcast, and the
// recovery log's choice of what a returning socket missed.
import assert from "node:assert/strict";
import { PacketType } from "socket.io-parser";
import {
  type AdapterNamespace,
  type AdapterSocket,
  MemoryAdapter,
} from "@/realtime/socketio/adapter.ts";
import type { OutPacket } from "@/realtime/socketio/engine/session.ts";
import { waitFor } from "../fixtures/mod.ts";

interface Recorder extends AdapterSocket {
  received: OutPacket[][];
}

interface TestNamespace extends AdapterNamespace {
  readonly sockets: Map<string, Recorder>;
}

/** Sockets `ids`; those in `recovering` take part in recovery (they have a pid). */
function namespace(ids: string[], recovering: string[] = []): TestNamespace {
  const sockets = new Map<string, Recorder>();
  for (const id of ids) {
    const socket: Recorder = {
      id,
      pid: recovering.includes(id) ? `pid-${id}` : undefined,
      received: [],
      deliver(packets) {
        socket.received.push(packets);
        return true;
      },
      disconnect() {},
    };
    sockets.set(id, socket);
  }
  let ackIds = 0;
  return { name: "/", sockets, onServerSideEmit() {}, nextAckId: () => ackIds++ };
}

const event = (...data: unknown[]) => ({ type: PacketType.EVENT, nsp: "/", data });

/** The adapter, closed (its sweep timer stopped) at the end of the test. */
function disposable(adapter: MemoryAdapter): MemoryAdapter & Disposable {
  return Object.assign(adapter, { [Symbol.dispose]: () => adapter.close() });
}

/** The decoded arguments of the one event in a delivery. */
const argsOf = (packets: OutPacket[]) => JSON.parse(String(packets[0].data).slice(1));
const none = new Set<string>();

Deno.test("a broadcast is encoded once and the same frames go to every recipient", () => {
  const nsp = namespace(["a", "b", "c"]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 0 });
  for (const id of ["a", "b", "c"]) adapter.addAll(id, [id, "room"]);
  adapter.broadcast(event("hello", { n: 1 }), { rooms: new Set(["room"]), except: new Set(["c"]) });
  const [a, b, c] = ["a", "b", "c"].map((id) => nsp.sockets.get(id)!.received);
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
  assert.equal(c.length, 0);
  assert.equal(a[0], b[0], "one encoding, shared by reference");
  assert.equal(a[0][0].frame, '42["hello",{"n":1}]');
});

Deno.test("a socket in several target rooms gets one copy", () => {
  const nsp = namespace(["a"]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 0 });
  adapter.addAll("a", ["a", "x", "y"]);
  adapter.broadcast(event("once"), { rooms: new Set(["x", "y"]), except: none });
  assert.equal(nsp.sockets.get("a")!.received.length, 1);
});

Deno.test("rooms and sockets indexes stay in step and empty rooms are deleted", () => {
  const adapter = new MemoryAdapter(namespace([]), { recoveryWindow: 0 });
  adapter.addAll("s1", ["s1", "r"]);
  adapter.addAll("s2", ["s2", "r"]);
  adapter.del("s1", "r");
  assert.deepEqual([...adapter.rooms.get("r")!], ["s2"]);
  adapter.delAll("s2");
  adapter.delAll("s1");
  assert.equal(adapter.rooms.size, 0);
  assert.equal(adapter.sids.size, 0);
});

Deno.test("a returning socket gets the broadcasts after its offset that its rooms matched", async () => {
  const nsp = namespace(["s"], ["s"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000 }));
  adapter.addAll("s", ["s", "r"]);
  adapter.broadcast(event("seen"), { rooms: new Set(["r"]), except: none });
  const offset =
    (JSON.parse(String(nsp.sockets.get("s")!.received[0][0].data).slice(1)) as string[])[1];
  adapter.persistSession({ sid: "s", pid: "p", rooms: ["s", "r"], data: {}, since: 0 });
  adapter.delAll("s");
  adapter.broadcast(event("for r"), { rooms: new Set(["r"]), except: none });
  adapter.broadcast(event("elsewhere"), { rooms: new Set(["other"]), except: none });
  adapter.broadcast(event("not for s"), { rooms: new Set(["r"]), except: new Set(["s"]) });
  adapter.broadcast(event("volatile"), { rooms: none, except: none, volatile: true });
  adapter.broadcast(event("to s"), { rooms: new Set(["s"]), except: none });
  const restored = (await adapter.restoreSession("p", offset))!;
  const names = restored.missed.map((p) => JSON.parse(String(p[0].data).slice(1))[0]);
  assert.deepEqual(names, ["for r", "to s"]);
  assert.equal(await adapter.restoreSession("p", offset), undefined, "a session is restored once");
});

Deno.test("without an offset, replay starts where the socket connected", async () => {
  const nsp = namespace(["other"], ["other"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000 }));
  adapter.addAll("other", ["other"]);
  adapter.broadcast(event("before connect"), { rooms: none, except: none });
  const since = adapter.position();
  adapter.broadcast(event("after connect"), { rooms: none, except: none });
  adapter.persistSession({ sid: "s", pid: "p", rooms: ["s"], data: { k: 1 }, since });
  const restored = (await adapter.restoreSession("p", undefined))!;
  assert.deepEqual(restored.data, { k: 1 });
  const names = restored.missed.map((p) => JSON.parse(String(p[0].data).slice(1))[0]);
  assert.deepEqual(names, ["after connect"]);
});

Deno.test("an offset from another server or a bad one is not recovered", async () => {
  using adapter = disposable(new MemoryAdapter(namespace([]), { recoveryWindow: 60_000 }));
  adapter.persistSession({ sid: "s", pid: "p", rooms: ["s"], data: {}, since: 0 });
  assert.equal(await adapter.restoreSession("p", "deadbeef-1"), undefined);
  adapter.persistSession({ sid: "s", pid: "q", rooms: ["s"], data: {}, since: 0 });
  assert.equal(await adapter.restoreSession("q", 42), undefined);
  assert.equal(await adapter.restoreSession("unknown", undefined), undefined);
});

// --- the two kinds of recipients ------------------------------------------------------------

Deno.test("a broadcast to plain and recovering sockets is encoded once per kind: offset only for the recovering ones", () => {
  const nsp = namespace(["p1", "p2", "p3", "r1", "r2", "r3"], ["r1", "r2", "r3"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000 }));
  for (const id of nsp.sockets.keys()) adapter.addAll(id, [id, "room"]);
  adapter.broadcast(event("hello", "text"), { rooms: new Set(["room"]), except: none });
  const got = (id: string) => nsp.sockets.get(id)!.received;
  for (const id of nsp.sockets.keys()) assert.equal(got(id).length, 1, id);
  const encodings = new Set([...nsp.sockets.keys()].map((id) => got(id)[0]));
  assert.equal(encodings.size, 2, "one encoding per kind, shared by reference");
  assert.equal(got("p1")[0][0].frame, '42["hello","text"]');
  const [name, text, offset] = argsOf(got("r1")[0]);
  assert.deepEqual([name, text], ["hello", "text"]);
  assert.equal(typeof offset, "string");
});

Deno.test("without recovering sockets or dropped ones nothing is logged; plain sockets get one encoding", () => {
  const nsp = namespace(["a", "b"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000 }));
  for (const id of ["a", "b"]) adapter.addAll(id, [id]);
  adapter.broadcast(event("x"), { rooms: none, except: none });
  assert.deepEqual(adapter.recoveryStats, { entries: 0, bytes: 0, sessions: 0 });
  assert.equal(nsp.sockets.get("a")!.received[0], nsp.sockets.get("b")!.received[0]);
  assert.equal(nsp.sockets.get("a")!.received[0][0].frame, '42["x"]');
});

// --- bounds of the recovery memory ----------------------------------------------------------

Deno.test("the recovery log keeps at most maxEvents broadcasts; a client older than that is not recovered", async () => {
  const nsp = namespace(["r"], ["r"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000, maxEvents: 5 }));
  adapter.addAll("r", ["r"]);
  adapter.broadcast(event("first"), { rooms: none, except: none });
  const firstOffset = argsOf(nsp.sockets.get("r")!.received[0])[1];
  for (let i = 0; i < 50; i++) adapter.broadcast(event("n", i), { rooms: none, except: none });
  assert.equal(adapter.recoveryStats.entries, 5);
  adapter.persistSession({ sid: "r", pid: "p", rooms: ["r"], data: {}, since: 0 });
  assert.equal(
    await adapter.peekSession("p", firstOffset),
    undefined,
    "its replay would have a gap",
  );
  const recent = argsOf(nsp.sockets.get("r")!.received.at(-3)!)[2];
  const restored = (await adapter.restoreSession("p", recent))!;
  assert.deepEqual(restored.missed.map((p) => argsOf(p)[1]), [48, 49]);
});

Deno.test("the recovery log keeps at most maxBytes of frames", () => {
  const nsp = namespace(["r"], ["r"]);
  const maxBytes = 10_000;
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 60_000, maxBytes }));
  adapter.addAll("r", ["r"]);
  const big = "x".repeat(3900);
  for (let i = 0; i < 200; i++) adapter.broadcast(event("big", big), { rooms: none, except: none });
  const { entries, bytes } = adapter.recoveryStats;
  assert.ok(bytes <= maxBytes, `${bytes} bytes kept`);
  assert.ok(bytes > maxBytes - 4000, `${bytes} bytes kept: the newest ones stay`);
  assert.equal(entries, 2);
});

Deno.test("at most maxSessions dropped clients' states are kept: the oldest go first", async () => {
  using adapter = disposable(
    new MemoryAdapter(namespace([]), { recoveryWindow: 60_000, maxSessions: 3 }),
  );
  for (let i = 0; i < 20; i++) {
    adapter.persistSession({ sid: `s${i}`, pid: `p${i}`, rooms: [`s${i}`], data: {}, since: 0 });
  }
  assert.equal(adapter.recoveryStats.sessions, 3);
  assert.equal(await adapter.peekSession("p16", undefined), undefined);
  assert.equal((await adapter.peekSession("p17", undefined))?.sid, "s17");
  assert.equal((await adapter.peekSession("p19", undefined))?.sid, "s19");
});

Deno.test("past the window the log and the kept states empty on a timer, with no broadcast to trigger it", async () => {
  const nsp = namespace(["r"], ["r"]);
  using adapter = disposable(new MemoryAdapter(nsp, { recoveryWindow: 100 }));
  adapter.addAll("r", ["r"]);
  for (let i = 0; i < 10; i++) adapter.broadcast(event("n", i), { rooms: none, except: none });
  adapter.persistSession({ sid: "r", pid: "p", rooms: ["r"], data: {}, since: 0 });
  adapter.delAll("r");
  assert.deepEqual(adapter.recoveryStats, {
    entries: 10,
    bytes: adapter.recoveryStats.bytes,
    sessions: 1,
  });
  await waitFor(() => adapter.recoveryStats.entries === 0 && adapter.recoveryStats.sessions === 0, {
    what: "the sweep",
  });
  assert.deepEqual(adapter.recoveryStats, { entries: 0, bytes: 0, sessions: 0 });
});

Deno.test("peekSession shows a state without taking it; dropSessions forgets the ones a predicate picks", async () => {
  using adapter = disposable(new MemoryAdapter(namespace([]), { recoveryWindow: 60_000 }));
  for (const [pid, login] of [["a", "L1"], ["b", "L2"], ["c", "L1"]]) {
    adapter.persistSession({ sid: pid, pid, rooms: [pid], data: { login }, since: 0 });
  }
  assert.deepEqual((await adapter.peekSession("a", undefined))?.data, { login: "L1" });
  assert.deepEqual(
    (await adapter.peekSession("a", undefined))?.data,
    { login: "L1" },
    "still there",
  );
  const dropped = await adapter.dropSessions((s) => (s.data as { login: string }).login === "L1");
  assert.equal(dropped, 2);
  assert.equal(await adapter.restoreSession("a", undefined), undefined);
  assert.equal(await adapter.restoreSession("c", undefined), undefined);
  assert.equal((await adapter.restoreSession("b", undefined))?.sid, "b");
  assert.equal(adapter.recoveryStats.sessions, 0);
});

Deno.test("broadcasts to one room follow its joins and leaves between them (the kept member list is renewed)", () => {
  const nsp = namespace(["a", "b", "c"]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 0 });
  const got = (id: string) => nsp.sockets.get(id)!.received.length;
  const toRoom = { rooms: new Set(["room"]), except: none };
  adapter.addAll("a", ["a", "room"]);
  adapter.broadcast(event("one"), toRoom);
  adapter.addAll("b", ["b", "room"]);
  adapter.broadcast(event("two"), toRoom);
  adapter.del("a", "room");
  adapter.broadcast(event("three"), toRoom);
  adapter.addAll("c", ["c"]);
  adapter.addSockets({ rooms: new Set(["c"]), except: none }, ["room"]);
  adapter.broadcast(event("four"), toRoom);
  adapter.delAll("b");
  adapter.broadcast(event("five"), toRoom);
  assert.deepEqual(["a", "b", "c"].map(got), [2, 3, 2]);
  assert.deepEqual(nsp.sockets.get("c")!.received.map((p) => argsOf(p)[0]), ["four", "five"]);
});

Deno.test("a socket leaving its room while a broadcast to that room is written still gets that broadcast, and not the next", () => {
  const nsp = namespace(["a", "b"]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 0 });
  for (const id of ["a", "b"]) adapter.addAll(id, [id, "room"]);
  const a = nsp.sockets.get("a")!;
  a.deliver = (packets) => {
    a.received.push(packets);
    adapter.delAll("b");
    return true;
  };
  const toRoom = { rooms: new Set(["room"]), except: none };
  adapter.broadcast(event("one"), toRoom);
  adapter.broadcast(event("two"), toRoom);
  assert.equal(a.received.length, 2);
  assert.equal(nsp.sockets.get("b")!.received.length, 1);
});
