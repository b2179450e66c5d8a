// `deno task migrate`: applies pending migrations to DATABASE_URL and exits.
import { openDatabase } from "@/db/client.ts";
import { migrate } from "@/db/migrate.ts";
import { ConfigError, loadConfig } from "@/lib/config.ts";

try {
  const config = loadConfig();
  const database = await openDatabase(config.database);
  try {
    const applied = await migrate(database);
    console.log(
      applied.length > 0 ? `applied migrations: ${applied.join(", ")}` : "database is up to date",
    );
  } finally {
    await database.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migrate failed: ${err}`);
  Deno.exit(1);
}
