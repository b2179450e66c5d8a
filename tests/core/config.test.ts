// Configuration: defaults, one clear error per bad variable, and the generated JWT secret.
import assert from "node:assert/strict";
import { ConfigError, loadConfig, resolveJwtSecret } from "@/lib/config.ts";
import { tempDir } from "../fixtures/mod.ts";

Deno.test("with nothing set, the defaults run on one machine", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.database.url, "file:./data/chat.db");
  assert.equal(config.database.synchronous, "NORMAL");
  assert.equal(config.uploadDir, "./data/uploads");
  assert.equal(config.accessTokenTtl, 24 * 3600);
  assert.equal(config.refreshTokenTtl, 7 * 86400);
  assert.equal(config.passwordIterations, 870000);
  assert.equal(config.messageMaxLength, 4000);
  assert.deepEqual(config.corsOrigins, ["*"]);
  assert.equal(config.jwtSecret, undefined);
});

Deno.test("durations, lists and flags are parsed", () => {
  const config = loadConfig({
    ACCESS_TOKEN_TTL: "15m",
    REFRESH_TOKEN_TTL: "3600",
    CORS_ORIGINS: "https://a.example, https://b.example",
    SEED_DEMO: "yes",
    DATA_DIR: "/srv/chat/",
    DATABASE_URL: "libsql://chat.example.turso.io",
    DATABASE_SYNC: "full",
  });
  assert.equal(config.database.synchronous, "FULL");
  assert.equal(config.accessTokenTtl, 900);
  assert.equal(config.refreshTokenTtl, 3600);
  assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(config.seedDemo, true);
  assert.equal(config.uploadDir, "/srv/chat/uploads");
  assert.equal(config.database.url, "libsql://chat.example.turso.io");
});

Deno.test("PostgreSQL URLs are taken with pool size and timeouts; the password is never echoed", () => {
  const config = loadConfig({
    DATABASE_URL: "postgresql://chat:s3cret@db.internal:5432/chat",
    DATABASE_POOL_SIZE: "20",
    DATABASE_STATEMENT_TIMEOUT: "0",
  });
  assert.equal(config.database.url, "postgresql://chat:s3cret@db.internal:5432/chat");
  assert.equal(config.database.poolSize, 20);
  assert.equal(config.database.statementTimeoutMs, 0, "0 turns the statement timeout off");
  assert.equal(config.database.connectTimeoutMs, 5000);
  const defaults = loadConfig({ DATABASE_URL: "postgres://localhost/chat" }).database;
  assert.equal(defaults.poolSize, 10);
  assert.equal(defaults.statementTimeoutMs, 30_000);
  assert.throws(
    () => loadConfig({ DATABASE_URL: "postgres://chat:s3cret@db/chat", DATABASE_POOL_SIZE: "x" }),
    (err) => err instanceof ConfigError && !err.message.includes("s3cret"),
  );
  assert.throws(
    () => loadConfig({ DATABASE_URL: "mysql://chat:s3cret@db/chat" }),
    (err) =>
      err instanceof ConfigError && !err.message.includes("s3cret") &&
      err.message.includes("<redacted>"),
  );
});

Deno.test("each bad value is refused with an error naming its variable", () => {
  const cases: [string, string][] = [
    ["PORT", "70000"],
    ["PORT", "8o8o"],
    ["ACCESS_TOKEN_TTL", "forever"],
    ["DATABASE_SYNC", "off"],
    ["PASSWORD_ITERATIONS", "10"],
    ["DATABASE_URL", "mysql://x"],
    ["DATABASE_POOL_SIZE", "0"],
    ["DATABASE_STATEMENT_TIMEOUT", "soon"],
    ["DATABASE_CONNECT_TIMEOUT", "0"],
    ["LOG_LEVEL", "loud"],
    ["SEED_DEMO", "maybe"],
  ];
  for (const [variable, value] of cases) {
    assert.throws(() => loadConfig({ [variable]: value }), (err) => {
      assert.ok(err instanceof ConfigError, `${variable}=${value}`);
      assert.equal(err.variable, variable);
      assert.match(err.message, new RegExp(`^invalid configuration: ${variable} `));
      assert.ok(err.message.includes(value), "the bad value is shown");
      return true;
    });
  }
});

Deno.test("HISTORY_MAX has a default, takes a value and refuses a bad one", () => {
  assert.equal(loadConfig({}).historyMax, 10_000);
  assert.equal(loadConfig({ HISTORY_MAX: "500" }).historyMax, 500);
  assert.throws(() => loadConfig({ HISTORY_MAX: "0" }), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, "HISTORY_MAX");
    return true;
  });
});

Deno.test("MEET_MESSAGES_SHAPE is array by default, may be results, and nothing else", () => {
  assert.equal(loadConfig({}).meetMessagesShape, "array");
  assert.equal(loadConfig({ MEET_MESSAGES_SHAPE: "results" }).meetMessagesShape, "results");
  assert.throws(() => loadConfig({ MEET_MESSAGES_SHAPE: "paged" }), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, "MEET_MESSAGES_SHAPE");
    assert.match(err.message, /must be array or results/);
    return true;
  });
});

Deno.test("a secret's bad value is never echoed", () => {
  assert.throws(() => loadConfig({ JWT_SECRET: "tooshort" }), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(!err.message.includes("tooshort"));
    return true;
  });
});

Deno.test("without JWT_SECRET a secret is generated once, kept under DATA_DIR and reused", async () => {
  const dir = await tempDir();
  const config = loadConfig({ DATA_DIR: `${dir}/nested` });
  const first = await resolveJwtSecret(config);
  assert.ok(first.length >= 32);
  const stat = await Deno.stat(`${dir}/nested/jwt_secret`);
  assert.equal(stat.mode! & 0o777, 0o600);
  assert.equal(await resolveJwtSecret(config), first);
  // Racing first starts agree on one secret.
  const other = loadConfig({ DATA_DIR: `${dir}/race` });
  const secrets = await Promise.all([1, 2, 3, 4].map(() => resolveJwtSecret(other)));
  assert.equal(new Set(secrets).size, 1);
  const given = loadConfig({ DATA_DIR: dir, JWT_SECRET: "x".repeat(40) });
  assert.equal(await resolveJwtSecret(given), "x".repeat(40));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the Socket.IO recovery bounds and the pending-session cap have defaults and refuse bad values", () => {
  const { socketio } = loadConfig({});
  assert.equal(socketio.recoveryMaxEvents, 10_000);
  assert.equal(socketio.recoveryMaxBytes, 16 * 1024 * 1024);
  assert.equal(socketio.recoveryMaxSessions, 10_000);
  assert.equal(socketio.maxPendingPerAddress, 32);
  const set = loadConfig({
    SOCKETIO_RECOVERY_MAX_EVENTS: "50",
    SOCKETIO_RECOVERY_MAX_BYTES: "4096",
    SOCKETIO_RECOVERY_MAX_SESSIONS: "7",
    SOCKETIO_MAX_PENDING_PER_ADDRESS: "3",
  }).socketio;
  assert.deepEqual(
    [
      set.recoveryMaxEvents,
      set.recoveryMaxBytes,
      set.recoveryMaxSessions,
      set.maxPendingPerAddress,
    ],
    [50, 4096, 7, 3],
  );
  for (
    const variable of [
      "SOCKETIO_RECOVERY_MAX_EVENTS",
      "SOCKETIO_RECOVERY_MAX_BYTES",
      "SOCKETIO_RECOVERY_MAX_SESSIONS",
      "SOCKETIO_MAX_PENDING_PER_ADDRESS",
    ]
  ) {
    assert.throws(() => loadConfig({ [variable]: "0" }), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      return true;
    });
  }
});

Deno.test("the login and refresh settings have defaults, and 0 turns only the slow-down and the leeway off", () => {
  const config = loadConfig({});
  assert.equal(config.refreshRotation, false);
  assert.equal(config.refreshReuseLeeway, 10);
  assert.equal(loadConfig({ REFRESH_REUSE_LEEWAY: "0" }).refreshReuseLeeway, 0);
  assert.equal(loadConfig({ REFRESH_ROTATION: "true" }).refreshRotation, true);
  assert.equal(config.trustProxy, 0);
  assert.equal(config.loginSlowdownMax, 10);
  assert.deepEqual(config.loginRate, { rate: 1, burst: 20 });
  assert.deepEqual(config.refreshRate, { rate: 2, burst: 60 });
  assert.deepEqual(config.passwordHashing, { concurrency: 2, queue: 32 });
  assert.equal(loadConfig({ LOGIN_SLOWDOWN_MAX: "0" }).loginSlowdownMax, 0);
  assert.equal(loadConfig({ TRUST_PROXY: "2" }).trustProxy, 2);
  for (
    const [variable, value] of [
      ["TRUST_PROXY", "-1"],
      ["TRUST_PROXY", "yes"],
      ["LOGIN_RATE", "0"],
      ["REFRESH_BURST", "0"],
      ["PASSWORD_CONCURRENCY", "0"],
      ["LOGIN_FAILURE_WINDOW", "0"],
      ["LOGIN_SLOWDOWN_MAX", "soon"],
      ["REFRESH_ROTATION", "sometimes"],
      ["REFRESH_REUSE_LEEWAY", "-1"],
    ]
  ) {
    assert.throws(
      () => loadConfig({ [variable]: value }),
      (err) => err instanceof ConfigError && err.variable === variable,
      `${variable}=${value}`,
    );
  }
});

Deno.test("attachments stay on local disk by default and go to S3 when a bucket is named", () => {
  const local = loadConfig({ DATA_DIR: "/srv/chat" });
  assert.deepEqual(local.uploads, {
    dir: "/srv/chat/uploads",
    maxBytes: 10 * 1024 * 1024,
    urlTtl: 3600,
    allowAnonymous: false,
    anonymousRate: { perMinute: 10, burst: 5 },
    s3: undefined,
  });
  const s3 = loadConfig({
    S3_BUCKET: "files",
    S3_ENDPOINT: "http://127.0.0.1:9000",
    S3_FORCE_PATH_STYLE: "true",
    AWS_REGION: "eu-west-3",
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "very-secret",
    UPLOAD_URL_TTL: "15m",
    UPLOAD_MAX_BYTES: "1024",
    UPLOAD_ALLOW_ANONYMOUS: "true",
  });
  assert.equal(s3.uploads.urlTtl, 900);
  assert.equal(s3.uploads.maxBytes, 1024);
  assert.equal(s3.uploads.allowAnonymous, true);
  assert.deepEqual(s3.uploads.s3, {
    bucket: "files",
    endpoint: "http://127.0.0.1:9000",
    forcePathStyle: true,
    region: "eu-west-3",
    credentials: {
      accessKeyId: "AKIAEXAMPLE",
      secretAccessKey: "very-secret",
      sessionToken: undefined,
    },
  });
});

Deno.test("S3 settings are checked: URL lifetime, endpoint, both halves of a key, secrets hidden", () => {
  assert.throws(() => loadConfig({ UPLOAD_URL_TTL: "8d" }), /UPLOAD_URL_TTL must be at most 7d/);
  assert.throws(() => loadConfig({ S3_ENDPOINT: "minio:9000" }), /S3_ENDPOINT/);
  assert.throws(
    () => loadConfig({ AWS_SECRET_ACCESS_KEY: "very-secret" }),
    /AWS_ACCESS_KEY_ID must be set with the other AWS key variable/,
  );
  assert.throws(() => loadConfig({ AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "" }), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.variable, "AWS_SECRET_ACCESS_KEY");
    assert.match(err.message, /<redacted>/);
    return true;
  });
});

Deno.test("several nodes: REDIS_URL turns Redis on, its prefix and queue are read, presence bounds are checked", () => {
  assert.equal(loadConfig({}).redis, undefined);
  assert.deepEqual(loadConfig({}).presence, { heartbeat: 5, ttl: 15 });
  const config = loadConfig({
    REDIS_URL: "redis://:pw@10.0.0.5:6380/2",
    REDIS_PREFIX: "chat-eu",
    REDIS_QUEUE: "500",
    PRESENCE_HEARTBEAT: "2s",
    PRESENCE_TTL: "1m",
  });
  assert.deepEqual(config.redis, {
    url: "redis://:pw@10.0.0.5:6380/2",
    prefix: "chat-eu",
    maxQueued: 500,
  });
  assert.deepEqual(config.presence, { heartbeat: 2, ttl: 60 });
  for (
    const [variable, env] of [
      ["REDIS_URL", { REDIS_URL: "127.0.0.1:6379" }],
      ["REDIS_PREFIX", { REDIS_PREFIX: "a b" }],
      ["REDIS_QUEUE", { REDIS_QUEUE: "0" }],
      ["PRESENCE_TTL", { PRESENCE_HEARTBEAT: "10s", PRESENCE_TTL: "10s" }],
    ] as const
  ) {
    assert.throws(() => loadConfig(env), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      return true;
    });
  }
  // A Redis URL may hold a password: a bad one is not echoed.
  assert.throws(() => loadConfig({ REDIS_URL: "http://user:secret@x" }), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
});
