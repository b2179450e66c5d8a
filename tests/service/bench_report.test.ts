// The benchmark's table: medians over rounds, ratios against the other server, and gates that
// mark a figure the run cannot vouch for (loss, a busy generator, a failed run).
import assert from "node:assert/strict";
import { buildRows, median, type RoundResult } from "@/bench/lib/report.ts";

function step(over: Partial<RoundResult> = {}): RoundResult {
  return { lost: 0, genCpuPct: 30, cpuUsPerInbound: 100, p99: 5, ...over };
}

function chatRound(over: Partial<RoundResult> = {}, maxRate = 4000): RoundResult {
  return { fixed: [step(over)], maxRate, rampStoppedBy: "server" };
}

const rowOf = (rows: ReturnType<typeof buildRows>, metric: string) =>
  rows.find((r) => r.scenario === "chat 100×10" && r.metric.includes(metric))!;

Deno.test("a figure is the median of its rounds, and the ratio is ours over theirs", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([null, 5, undefined]), 5);
  assert.equal(median([]), null);
  const rows = buildRows({
    chat100: {
      ours: [60, 50, 70].map((cpu) => chatRound({ cpuUsPerInbound: cpu })),
      socketio: [200, 100, 300].map((cpu) => chatRound({ cpuUsPerInbound: cpu })),
    },
  });
  const cpu = rowOf(rows, "CPU µs per inbound");
  assert.equal(cpu.ours, 60);
  assert.equal(cpu.other, 200);
  assert.equal(cpu.ratio, 0.3);
  assert.equal(cpu.met, true);
  assert.match(cpu.gates, /delivered = expected; generator ≤ 30% CPU/);
});

Deno.test("a lost delivery or a busy generator shows in the figure's gates", () => {
  const rows = buildRows({
    chat100: {
      ours: [chatRound({ lost: 3 })],
      socketio: [chatRound({ genCpuPct: 85 })],
    },
  });
  const gates = rowOf(rows, "CPU µs per inbound").gates;
  assert.match(gates, /LOST 3/);
  assert.match(gates, /generator-bound \(85%\)/);
});

Deno.test("a highest rate the generator stopped is only a lower bound", () => {
  const rows = buildRows({
    chat100: {
      ours: [{ ...chatRound({}, 9000), rampStoppedBy: "generator" }],
      socketio: [chatRound({}, 3000)],
    },
  });
  const highest = rowOf(rows, "highest inbound");
  assert.equal(highest.ours, 9000);
  assert.equal(highest.oursLowerBound, true);
  assert.equal(highest.otherLowerBound, false);
  assert.match(highest.gates, /1 of 2 ramps stopped by the generator/);
});

Deno.test("a failed run leaves its figures empty and says so", () => {
  const rows = buildRows({
    chat100: { ours: [{ error: "server did not start" }], socketio: [chatRound()] },
  });
  const cpu = rowOf(rows, "CPU µs per inbound");
  assert.equal(cpu.ours, null);
  assert.equal(cpu.ratio, null);
  assert.equal(cpu.met, undefined);
  assert.equal(cpu.gates, "run failed");
});

Deno.test("persisted chat shows rows committed against messages acked, round by round", () => {
  const persisted = (rows: number, acked: number) => ({ ...chatRound(), rows, acked });
  const rows = buildRows({
    persisted: { ours: [persisted(10, 10)], socketio: [persisted(9, 10)] },
  });
  const check = rows.find((r) => r.metric === "rows committed − messages acked")!;
  assert.equal(check.ours, 0);
  assert.equal(check.other, -1);
  assert.match(check.gates, /ours 10\/10; socket.io 9\/10 MISMATCH/);
});

Deno.test("the raw faces are measured against persisted's references when those ran", () => {
  const persisted = (cpu: number) => ({
    ...chatRound({ cpuUsPerInbound: cpu }),
    rows: 5,
    acked: 5,
  });
  const rows = buildRows({
    persisted: {
      ours: [persisted(300)],
      socketio: [persisted(200)],
      "socketio-uws": [persisted(100)],
    },
    "persisted-inbox": { ours: [persisted(250)] },
  });
  const inbox = rows.filter((r) => r.scenario === "persisted inbox");
  const cpu = inbox.filter((r) => r.metric.includes("CPU µs per inbound"));
  assert.deepEqual(cpu.map((r) => [r.versus, r.other, r.ratio]), [
    ["socket.io", 200, 1.25],
    ["socket.io (uWS)", 100, 2.5],
  ]);
  assert.equal(cpu[0].target, "≤ 1×");
  assert.equal(cpu[0].met, false);
});

Deno.test("rows committed = messages acked is met only when every round of ours matches", () => {
  const round = (rows: number, acked: number) => ({ ...chatRound(), rows, acked });
  const check = (ours: RoundResult[]) =>
    buildRows({ persisted: { ours, socketio: [round(3, 3)] } })
      .find((r) => r.metric === "rows committed − messages acked")!;
  assert.equal(check([round(10, 10), round(7, 7)]).met, true);
  assert.equal(check([round(10, 10), round(6, 7)]).met, false);
  assert.equal(check([round(10, 10), { error: "server did not start" }]).met, false);
});

Deno.test("a reference that could not run says why in its rows, and the others stand", () => {
  const rows = buildRows({
    chat100: {
      ours: [chatRound()],
      socketio: [chatRound({ cpuUsPerInbound: 200 })],
      "socketio-uws": [{ error: "server did not start" }],
    },
  });
  const uws = rows.find((r) => r.versus === "socket.io (uWS)")!;
  assert.equal(uws.other, null);
  assert.match(uws.gates, /socket\.io \(uWS\) did not run: server did not start/);
  assert.equal(rowOf(rows, "CPU µs per inbound").ratio, 0.5);
});

Deno.test("chat's bare-WebSocket row says whether the 0.6× target is below the runtime's floor", () => {
  const floorRow = (ceiling: number) =>
    buildRows({
      chat100: {
        ours: [chatRound()],
        socketio: [chatRound({ cpuUsPerInbound: 150 })],
        ceiling: [chatRound({ cpuUsPerInbound: ceiling })],
      },
    }).find((r) => r.versus === "bare WebSocket")!;
  assert.match(floorRow(100).gates, /the 0\.6× target is 90\.0 µs, BELOW the bare WebSocket's 100/);
  assert.match(
    floorRow(80).gates,
    /the 0\.6× target is 90\.0 µs, above the bare WebSocket's 80\.0/,
  );
});
