// `deno task user:create --username NAME --password PASS [--email E] [--role teacher]
//  [--first-name F] [--last-name L]`: creates an account. The only way to make teachers and
// admins, since nobody can sign themselves up as one.
import { parseArgs } from "node:util";
import { openDatabase } from "@/db/client.ts";
import { migrate } from "@/db/migrate.ts";
import { ConfigError, coreSettings, loadConfig, resolveJwtSecret } from "@/lib/config.ts";
import { createCore } from "@/lib/core.ts";
import { ValidationError } from "@/lib/errors.ts";
import type { Role } from "@/lib/records.ts";
import { fieldErrors } from "@/routes/wording.ts";

const USAGE = "usage: deno task user:create --username NAME --password PASS " +
  "[--email EMAIL] [--role member|teacher|admin] [--first-name F] [--last-name L]";
const ROLES: Role[] = ["member", "teacher", "admin"];

function fail(message: string): never {
  console.error(message);
  Deno.exit(1);
}

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      username: { type: "string" },
      password: { type: "string" },
      email: { type: "string" },
      role: { type: "string", default: "member" },
      "first-name": { type: "string", default: "" },
      "last-name": { type: "string", default: "" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!args.username || !args.password) fail(USAGE);
if (!ROLES.includes(args.role as Role)) fail(`--role must be one of ${ROLES.join(", ")}`);

try {
  const config = loadConfig();
  const database = await openDatabase(config.database);
  try {
    await migrate(database);
    const core = createCore({
      db: database.db,
      events: { publish() {} },
      settings: coreSettings(config, await resolveJwtSecret(config)),
    });
    const user = await core.accounts.create({
      username: args.username,
      password: args.password,
      email: args.email ?? null,
      role: args.role as Role,
      firstName: args["first-name"],
      lastName: args["last-name"],
      emailVerified: args.email !== undefined,
    });
    console.log(`created ${user.role} ${user.username} (id ${user.id})`);
  } finally {
    await database.close();
  }
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  if (err instanceof ValidationError) {
    fail(Object.entries(fieldErrors(err)).map(([f, m]) => `${f}: ${m.join(" ")}`).join("\n"));
  }
  throw err;
}
