// A server-side close of a polling session: the queued packets go out on the next poll, also
// when the client tries to upgrade in between (the upgrade is refused, not half-done).
import assert from "node:assert/strict";
import { ENGINE_DEFAULTS } from "@/realtime/socketio/engine/options.ts";
import { EngineServer } from "@/realtime/socketio/engine/server.ts";
import { WsConn } from "../fixtures/mod.ts";

Deno.test("ending a polling session while a probe arrives refuses the upgrade and delivers the last packets by poll", async () => {
  const engine = new EngineServer({ ...ENGINE_DEFAULTS, path: "/engine.io/" });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => engine.handle(req, info),
  );
  const base = `127.0.0.1:${server.addr.port}/engine.io/?EIO=4`;
  let ws: WsConn | undefined;
  try {
    const open = await (await fetch(`http://${base}&transport=polling`)).text();
    const sid = JSON.parse(open.slice(1)).sid as string;
    ws = new WsConn(`ws://${base}&transport=websocket&sid=${sid}`);
    await ws.waitOpen();
    const session = engine.sessions.get(sid)!;
    session.send([{ type: "message", data: "last words" }]);
    session.end("forced close");
    ws.send("2probe");
    await ws.waitClose();
    const poll = await fetch(`http://${base}&transport=polling&sid=${sid}`);
    assert.equal(await poll.text(), "4last words\x1e1");
    assert.equal(engine.sessions.has(sid), false);
  } finally {
    await ws?.close();
    engine.close();
    await server.shutdown();
  }
});
