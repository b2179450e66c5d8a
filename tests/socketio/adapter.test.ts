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

interface Recorder extends AdapterSocket {
  received: OutPacket[][];
}

interface TestNamespace extends AdapterNamespace {
  readonly sockets: Map<string, Recorder>;
}

function namespace(ids: string[]): TestNamespace {
  const sockets = new Map<string, Recorder>();
  for (const id of ids) {
    const socket: Recorder = {
      id,
      received: [],
      deliver(packets) {
        socket.received.push(packets);
      },
      disconnect() {},
    };
    sockets.set(id, socket);
  }
  return { name: "/", sockets, onServerSideEmit() {} };
}

const event = (...data: unknown[]) => ({ type: PacketType.EVENT, nsp: "/", data });
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

Deno.test("a returning socket gets the broadcasts after its offset that its rooms matched", () => {
  const nsp = namespace(["s"]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 60_000 });
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
  const restored = adapter.restoreSession("p", offset)!;
  const names = restored.missed.map((p) => JSON.parse(String(p[0].data).slice(1))[0]);
  assert.deepEqual(names, ["for r", "to s"]);
  assert.equal(adapter.restoreSession("p", offset), undefined, "a session is restored once");
});

Deno.test("without an offset, replay starts where the socket connected", () => {
  const nsp = namespace([]);
  const adapter = new MemoryAdapter(nsp, { recoveryWindow: 60_000 });
  adapter.broadcast(event("before connect"), { rooms: none, except: none });
  const since = adapter.position();
  adapter.broadcast(event("after connect"), { rooms: none, except: none });
  adapter.persistSession({ sid: "s", pid: "p", rooms: ["s"], data: { k: 1 }, since });
  const restored = adapter.restoreSession("p", undefined)!;
  assert.deepEqual(restored.data, { k: 1 });
  const names = restored.missed.map((p) => JSON.parse(String(p[0].data).slice(1))[0]);
  assert.deepEqual(names, ["after connect"]);
});

Deno.test("an offset from another server or a bad one is not recovered", () => {
  const adapter = new MemoryAdapter(namespace([]), { recoveryWindow: 60_000 });
  adapter.persistSession({ sid: "s", pid: "p", rooms: ["s"], data: {}, since: 0 });
  assert.equal(adapter.restoreSession("p", "deadbeef-1"), undefined);
  adapter.persistSession({ sid: "s", pid: "q", rooms: ["s"], data: {}, since: 0 });
  assert.equal(adapter.restoreSession("q", 42), undefined);
  assert.equal(adapter.restoreSession("unknown", undefined), undefined);
});
