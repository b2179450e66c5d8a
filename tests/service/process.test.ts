// The service as a process: configuration errors, request logs, signals, concurrent starts.
import assert from "node:assert/strict";
import { tempDir, TEST_ITERATIONS } from "../fixtures/mod.ts";

const MAIN = new URL(import.meta.resolve("@/main.ts")).pathname;

function serviceCommand(env: Record<string, string>, script = MAIN, args: string[] = []) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    env: { PASSWORD_ITERATIONS: String(TEST_ITERATIONS), NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Reads a process's stdout line by line until `match` returns a value. */
async function waitForLine<T>(
  lines: AsyncIterator<string>,
  match: (line: string) => T | undefined,
): Promise<T> {
  while (true) {
    const { value, done } = await lines.next();
    if (done) throw new Error("process ended before the expected line");
    const found = match(value);
    if (found !== undefined) return found;
  }
}

async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer) yield buffer;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

Deno.test("a bad configuration value stops start-up with one line naming the variable", async () => {
  const dir = await tempDir();
  const out = await serviceCommand({ DATA_DIR: dir, PORT: "eighty" }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(out.code, 1);
  assert.equal(stderr.split("\n").length, 1);
  assert.match(stderr, /PORT/);
  assert.match(stderr, /eighty/);
  const secret = await serviceCommand({ DATA_DIR: dir, JWT_SECRET: "short" }).output();
  const secretLine = new TextDecoder().decode(secret.stderr).trim();
  assert.equal(secret.code, 1);
  assert.match(secretLine, /JWT_SECRET/);
  assert.doesNotMatch(secretLine, /short/, "a secret's value is never printed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("each request is logged as one JSON line without tokens or passwords, and SIGTERM stops the service cleanly", async () => {
  const dir = await tempDir();
  const child = serviceCommand({
    DATA_DIR: dir,
    DATABASE_URL: `file:${dir}/chat.db`,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
  }).spawn();
  const lines = linesOf(child.stdout);
  const logged: string[] = [];
  const url = await waitForLine(lines, (line) => {
    logged.push(line);
    return parseJson(line)?.msg === "listening" ? String(parseJson(line)!.url) : undefined;
  });

  const secretPassword = "pleasant-walrus-42";
  const create = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(import.meta.resolve("@/scripts/user_create.ts")).pathname,
      "--username",
      "logan",
      "--password",
      secretPassword,
    ],
    env: { DATA_DIR: dir, DATABASE_URL: `file:${dir}/chat.db`, PASSWORD_ITERATIONS: "1000" },
    stdout: "piped",
    stderr: "piped",
  });
  const created = await create.output();
  assert.equal(created.code, 0, new TextDecoder().decode(created.stderr));

  const login = await fetch(`${url}/api/token/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "logan", password: secretPassword }),
  });
  const { access } = await login.json();
  const probe = await fetch(`${url}/healthz?token=${access}`, {
    headers: { authorization: `Bearer ${access}` },
  });
  await probe.body?.cancel();

  const entry = await waitForLine(lines, (line) => {
    logged.push(line);
    const e = parseJson(line);
    return e?.msg === "request" && e.path === "/healthz" ? e : undefined;
  });
  assert.equal(entry.method, "GET");
  assert.equal(entry.status, 200);
  assert.equal(typeof entry.duration_ms, "number");
  assert.ok("user_id" in entry);

  child.kill("SIGTERM");
  for await (const line of lines) logged.push(line);
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(status.code, 0);
  assert.ok(logged.some((l) => parseJson(l)?.msg === "stopped"), "the stop is logged");
  const everything = logged.join("\n") + stderr;
  assert.ok(!everything.includes(access), "no token in any log line");
  assert.ok(!everything.includes(secretPassword), "no password in any log line");
  for (const line of logged.filter((l) => l.startsWith("{"))) assert.ok(parseJson(line));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two processes starting at once on one database file both come up on one schema and one secret", async () => {
  const dir = await tempDir();
  const env = {
    DATA_DIR: dir,
    DATABASE_URL: `file:${dir}/chat.db`,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
  };
  const children = [serviceCommand(env).spawn(), serviceCommand(env).spawn()];
  const urls = await Promise.all(
    children.map((child) =>
      waitForLine(
        linesOf(child.stdout),
        (line) => parseJson(line)?.msg === "listening" ? String(parseJson(line)!.url) : undefined,
      )
    ),
  );
  for (const url of urls) {
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
  }
  // One secret: a token issued by one process is accepted by the other.
  const created = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(import.meta.resolve("@/scripts/user_create.ts")).pathname,
      "--username",
      "twin",
      "--password",
      "pleasant-walrus-42",
    ],
    env: { ...env, PASSWORD_ITERATIONS: "1000" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(created.code, 0, new TextDecoder().decode(created.stderr));
  const login = await fetch(`${urls[0]}/api/token/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "twin", password: "pleasant-walrus-42" }),
  });
  const { refresh } = await login.json();
  const rotated = await fetch(`${urls[1]}/api/token/refresh/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh }),
  });
  assert.equal(rotated.status, 200);
  await rotated.body?.cancel();
  for (const child of children) child.kill("SIGTERM");
  for (const child of children) {
    assert.equal((await child.status).code, 0);
    await child.stderr.cancel();
  }
  const secret = await Deno.readTextFile(`${dir}/jwt_secret`);
  assert.ok(secret.length >= 32);
  const { openDatabase } = await import("@/db/client.ts");
  const db = await openDatabase({ url: `file:${dir}/chat.db` });
  const rows = await db.db.selectFrom("schema_migrations").selectAll().execute();
  assert.deepEqual(rows.map((r) => r.version), [...new Set(rows.map((r) => r.version))]);
  assert.ok(rows.length >= 1);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task conformance serves both protocol suites' endpoints with their timings", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(import.meta.resolve("@/scripts/conformance_server.ts")).pathname,
    ],
    env: { PORT: "0", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // Deno.serve announces its address on stderr.
    const origin = await waitForLine(
      linesOf(child.stderr),
      (line) => /https?:\/\/[\d.:]+/.exec(line)?.[0],
    );
    for (const path of ["/engine.io/", "/socket.io/"]) {
      const res = await fetch(`${origin}${path}?EIO=4&transport=polling`);
      const open = JSON.parse((await res.text()).slice(1));
      assert.equal(open.pingInterval, 300);
      assert.equal(open.pingTimeout, 200);
      assert.equal(open.maxPayload, 1_000_000);
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});
