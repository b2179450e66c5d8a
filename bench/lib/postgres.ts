// PostgreSQL for the persisted-chat scenario's PostgreSQL row: a fresh database per round,
// counted and dropped after the server stopped. BENCH_POSTGRES_URL names the server (default
// the local one the tests use).
// @ts-types="@types/pg"
import pg from "pg";

const ADMIN_URL = Deno.env.get("BENCH_POSTGRES_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

async function admin<T>(fn: (client: pg.Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database's URL. */
export async function createBenchDatabase(): Promise<string> {
  const name = `chat_bench_${Date.now()}_${crypto.randomUUID().slice(0, 8).replaceAll("-", "")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.href;
}

export async function countPostgresRows(url: string, table: string): Promise<number> {
  return await admin(async (c) => {
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n as number;
  }, url);
}

export async function dropBenchDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
