// The core: every rule of the service, behind one object that faces receive.
import { sql } from "kysely";
import type { Db } from "@/db/client.ts";
import { createAccounts } from "./accounts.ts";
import { createDesk } from "./desk.ts";
import { createGroups } from "./groups.ts";
import type { EventSink } from "./events.ts";
import { createMessages } from "./messages.ts";
import { createRooms } from "./rooms.ts";
import { createTokens } from "./tokens.ts";

export interface CoreSettings {
  jwtSecret: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  passwordIterations: number;
  passwordMinLength: number;
  messageMaxLength: number;
  loginMaxFailures: number;
  /** Seconds. */
  loginFailureWindow: number;
}

export interface CoreDeps {
  db: Db;
  events: EventSink;
  settings: CoreSettings;
  /** The clock, in ms since the epoch; tests may move it. */
  now?: () => number;
}

export function createCore({ db, events, settings, now = Date.now }: CoreDeps) {
  const tokens = createTokens({
    db,
    events,
    now,
    secret: settings.jwtSecret,
    accessTtl: settings.accessTokenTtl,
    refreshTtl: settings.refreshTokenTtl,
  });
  const accounts = createAccounts({
    db,
    events,
    tokens,
    now,
    passwordIterations: settings.passwordIterations,
    passwordMinLength: settings.passwordMinLength,
    loginMaxFailures: settings.loginMaxFailures,
    loginFailureWindow: settings.loginFailureWindow,
  });
  const rooms = createRooms({ db, events, now, messageMaxLength: settings.messageMaxLength });
  const messages = createMessages({ db, events, now, messageMaxLength: settings.messageMaxLength });
  const desk = createDesk({ db, events, rooms, messages, now });
  const groups = createGroups({ db, events, rooms, messages, now });

  /** True when the database answers. */
  async function ready(): Promise<boolean> {
    try {
      await sql`SELECT 1`.execute(db);
      return true;
    } catch {
      return false;
    }
  }

  return { accounts, tokens, rooms, messages, desk, groups, ready };
}

export type Core = ReturnType<typeof createCore>;
