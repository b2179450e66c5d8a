// One migration, two files (migrations/ for libSQL, migrations/postgres/ for PostgreSQL): the
// folders stay in lock-step and build the same schema — tables, columns, nullability, primary
// keys, foreign keys, unique and partial indexes. Types are compared as integer or text.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { type DatabaseHandle, openDatabase } from "@/db/client.ts";
import { migrate, readMigrations } from "@/db/migrate.ts";
import { createPostgresDatabase, POSTGRES_AVAILABLE, tempDir } from "../fixtures/mod.ts";

interface Schema {
  columns: string[];
  primaryKeys: string[];
  foreignKeys: string[];
  indexes: string[];
}

const kindOf = (type: string) => /int/i.test(type) ? "integer" : /text/i.test(type) ? "text" : type;
const ON_DELETE: Record<string, string> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

async function sqliteSchema(handle: DatabaseHandle): Promise<Schema> {
  const db = handle.db;
  const tables = (await sql<{ name: string }>`SELECT name FROM sqlite_master
    WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'
    ORDER BY name`.execute(db)).rows.map((r) => r.name);
  const schema: Schema = { columns: [], primaryKeys: [], foreignKeys: [], indexes: [] };
  for (const table of tables) {
    const cols = (await sql<{ name: string; type: string; notnull: number; pk: number }>`
      SELECT * FROM pragma_table_info(${table})`.execute(db)).rows;
    for (const c of cols) {
      // A primary key column is NOT NULL on PostgreSQL and effectively so here.
      const notNull = c.notnull === 1 || c.pk > 0;
      schema.columns.push(`${table}.${c.name} ${kindOf(c.type)}${notNull ? " not null" : ""}`);
    }
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    schema.primaryKeys.push(`${table}(${pk.join(", ")})`);
    const fks = (await sql<{ table: string; from: string; to: string; on_delete: string }>`
      SELECT * FROM pragma_foreign_key_list(${table})`.execute(db)).rows;
    for (const fk of fks) {
      schema.foreignKeys.push(`${table}.${fk.from} -> ${fk.table}.${fk.to} ${fk.on_delete}`);
    }
    const indexes = (await sql<{ name: string; unique: number; origin: string; partial: number }>`
      SELECT * FROM pragma_index_list(${table})`.execute(db)).rows;
    for (const index of indexes) {
      if (index.origin === "pk") continue;
      const columns = (await sql<{ name: string; seqno: number }>`
        SELECT * FROM pragma_index_info(${index.name})`.execute(db)).rows
        .sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
      // UNIQUE in a column definition gets a generated name on either engine.
      const name = index.origin === "c" ? index.name : "(constraint)";
      schema.indexes.push(
        `${name} on ${table}(${columns.join(", ")})${index.unique ? " unique" : ""}${
          index.partial ? " partial" : ""
        }`,
      );
    }
  }
  return sorted(schema);
}

async function postgresSchema(handle: DatabaseHandle): Promise<Schema> {
  const db = handle.db;
  const schema: Schema = { columns: [], primaryKeys: [], foreignKeys: [], indexes: [] };
  const cols = (await sql<
    { table_name: string; column_name: string; data_type: string; is_nullable: string }
  >`SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`.execute(db)).rows;
  for (const c of cols) {
    const type = c.data_type === "USER-DEFINED" ? "text" : kindOf(c.data_type); // citext
    schema.columns.push(
      `${c.table_name}.${c.column_name} ${type}${c.is_nullable === "NO" ? " not null" : ""}`,
    );
  }
  const indexes = (await sql<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    partial: boolean;
    columns: string[];
    constraint: boolean;
  }>`SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique,
      ix.indisprimary AS primary, ix.indpred IS NOT NULL AS partial,
      array(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
      EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AS constraint
    FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname <> 'schema_migrations'`.execute(db)).rows;
  for (const index of indexes) {
    if (index.primary) {
      schema.primaryKeys.push(`${index.table}(${index.columns.join(", ")})`);
      continue;
    }
    const name = index.constraint ? "(constraint)" : index.name;
    schema.indexes.push(
      `${name} on ${index.table}(${index.columns.join(", ")})${index.unique ? " unique" : ""}${
        index.partial ? " partial" : ""
      }`,
    );
  }
  const fks = (await sql<
    { table: string; from: string; to_table: string; to: string; on_delete: string }
  >`SELECT cl.relname AS table, a.attname AS from, rt.relname AS to_table, ra.attname AS to,
      c.confdeltype AS on_delete
    FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid
      JOIN pg_class rt ON rt.oid = c.confrelid
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
    WHERE c.contype = 'f'`.execute(db)).rows;
  for (const fk of fks) {
    schema.foreignKeys.push(
      `${fk.table}.${fk.from} -> ${fk.to_table}.${fk.to} ${ON_DELETE[fk.on_delete]}`,
    );
  }
  return sorted(schema);
}

function sorted(schema: Schema): Schema {
  return {
    columns: schema.columns.sort(),
    primaryKeys: schema.primaryKeys.sort(),
    foreignKeys: schema.foreignKeys.sort(),
    indexes: schema.indexes.sort(),
  };
}

Deno.test("each migration has a libSQL and a PostgreSQL file with the same number and name", async () => {
  const sqlite = (await readMigrations("sqlite")).map((m) => `${m.version}_${m.name}`);
  const postgres = (await readMigrations("postgres")).map((m) => `${m.version}_${m.name}`);
  assert.deepEqual(postgres, sqlite);
});

Deno.test({
  name: "libSQL and PostgreSQL migrations build the same tables, columns, keys and indexes",
  ignore: !POSTGRES_AVAILABLE,
  async fn() {
    const dir = await tempDir("chat-parity-");
    const pgDatabase = await createPostgresDatabase();
    const lite = await openDatabase({ url: `file:${dir}/chat.db` });
    const pg = await openDatabase({ url: pgDatabase.url });
    try {
      await migrate(lite);
      await migrate(pg);
      const [a, b] = [await sqliteSchema(lite), await postgresSchema(pg)];
      assert.ok(a.columns.length > 50, "the schema was read");
      assert.deepEqual(b, a);
    } finally {
      await lite.close();
      await pg.close();
      await pgDatabase.drop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
