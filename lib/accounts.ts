// Accounts: one per person, shared by every face. Creation, login by username or e-mail,
// profile changes and deactivation. Every rule about accounts lives here.
import type { Db } from "@/db/client.ts";
import type { Role } from "@/db/schema.ts";
import { isUniqueViolation } from "@/db/errors.ts";
import {
  countUsers,
  emailTaken,
  findUserRow,
  findUserRowByUsername,
  findUserRowsByLogin,
  findUsersByIds,
  insertUser,
  selectActiveUsersPage,
  toUser,
  updateUserRow,
  usernameTaken,
} from "@/db/users.ts";
import {
  AuthenticationError,
  NotFound,
  type Problem,
  problemList,
  RateLimited,
  ValidationError,
} from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import {
  dummyVerify,
  hashPassword,
  needsRehash,
  passwordProblems,
  UNUSABLE_PASSWORD,
  verifyPassword,
} from "./passwords.ts";
import type { Gate } from "./gate.ts";
import { LIMITS } from "./limits.ts";
import type { Metrics } from "./metrics.ts";
import { type RateLimiter, takeOrRefuse } from "./rate.ts";
import { splitName, type User } from "./records.ts";
import { createThrottle } from "./throttle.ts";
import type { TokenPair, Tokens } from "./tokens.ts";

/**
 * `chat` and `notifications` would shadow /ws/chat/... and /ws/notifications/... on the inbox
 * face; `bot` is the lounge bot's account (lib/bot/chat.ts), which no person may take.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set(["chat", "notifications", "bot"]);
const USERNAME = /^[\w.@+-]+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface NewAccount {
  username: string;
  password: string;
  email?: string | null;
  firstName?: string;
  lastName?: string;
  role?: Role;
  emailVerified?: boolean;
  isBot?: boolean;
  image?: string;
}

export interface ProfileChanges {
  firstName?: string;
  lastName?: string;
  image?: string;
  language?: string;
  gender?: string;
  cameraOn?: boolean;
}

export interface AccountsDeps {
  db: Db;
  events: EventSink;
  tokens: Tokens;
  passwordIterations: number;
  passwordMinLength: number;
  /** Failed logins allowed per login name and client within loginFailureWindow (seconds). */
  loginMaxFailures: number;
  loginFailureWindow: number;
  /**
   * Longest delay (seconds; 0 = off) before answering a login name that has failed
   * loginMaxFailures times within the window from all clients together.
   */
  loginSlowdownMax: number;
  /** Logins and registrations per client address; none when left out. */
  clientLimiter?: RateLimiter;
  /** The bound on password hashing at once (verify and hash); none when left out. */
  hashing?: Gate;
  metrics: Metrics;
  now: () => number;
}

/**
 * How long to wait before checking a password for a login name that has failed `failures`
 * times from all clients: nothing below `threshold`, then 1 s doubling with each further
 * failure, at most `maxMs`. The owner gets in, slowly; a guesser spread over many addresses
 * gets few guesses.
 */
export function slowdownMs(failures: number, threshold: number, maxMs: number): number {
  if (failures < threshold) return 0;
  return Math.min(maxMs, 1000 * 2 ** Math.min(failures - threshold, 30));
}

/** The username an e-mail's account is first offered: its local part, cleaned. */
export function usernameBase(email: string): string {
  return (email.split("@")[0].replace(/[^\w.@+-]/g, "") || "user").slice(0, 140);
}

/** The usernames, in order, that an account made from an e-mail may take (base, base2, ...). */
export function* usernameCandidates(email: string): Generator<string> {
  const base = usernameBase(email);
  for (let n = 1; n <= 50; n++) yield n === 1 ? base : `${base}${n}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createAccounts(deps: AccountsDeps) {
  const { db, events, tokens, now, metrics } = deps;
  const hashing = <T>(task: () => Promise<T>) => deps.hashing ? deps.hashing.run(task) : task();
  const throttled = (limit: string) => metrics.throttled.inc({ limit });

  /** Spends one of the client's attempts (`client` undefined: an in-process caller). */
  async function limitClient(limit: "login" | "register", client: string | undefined) {
    if (deps.clientLimiter && client !== undefined) {
      await takeOrRefuse(deps.clientLimiter, client, () => throttled(limit));
    }
  }

  const windowMs = deps.loginFailureWindow * 1000;
  const slowdownMax = deps.loginSlowdownMax * 1000;
  // Per login name and client: past the limit, that pair is refused (429).
  const loginFailures = createThrottle({ max: deps.loginMaxFailures, windowMs, now });
  // Per login name from all clients: past the same limit, answers slow down (never refused,
  // or anyone could lock the owner out). Counting stops once the delay has reached its cap.
  const nameFailures = createThrottle({
    max: deps.loginMaxFailures + Math.ceil(Math.log2(Math.max(1, deps.loginSlowdownMax))) + 1,
    windowMs,
    now,
  });

  function checkPassword(password: string, personal: (string | null | undefined)[]): Problem[] {
    if (password.length > LIMITS.password) return [{ code: "max_length", max: LIMITS.password }];
    return passwordProblems(password, { minLength: deps.passwordMinLength, personal });
  }

  /**
   * Checks a new account's fields. Without a username (a sign-up, whose username is derived
   * later), the derived one's base stands in for it in the password-similarity check.
   */
  async function checkNewAccount(
    input: Omit<NewAccount, "username"> & { username?: string },
  ): Promise<void> {
    const { add, problems } = problemList();
    const username = input.username ?? usernameBase(input.email ?? "");
    if (input.username === undefined) {
      // Derived from the e-mail: nothing to check here.
    } else if (username.length === 0) add("username", { code: "blank" });
    else if (username.length > LIMITS.username) {
      add("username", { code: "max_length", max: LIMITS.username });
    } else if (!USERNAME.test(username)) {
      add("username", { code: "invalid_username" });
    } else if (RESERVED_USERNAMES.has(username.toLowerCase())) {
      add("username", { code: "username_reserved" });
    } else if (await usernameTaken(db, username)) {
      add("username", { code: "username_taken" });
    }
    const email = input.email ?? null;
    if (email !== null) {
      if (email.length > LIMITS.email || !EMAIL.test(email)) {
        add("email", { code: "invalid_email" });
      } else if (await emailTaken(db, email)) {
        add("email", { code: "email_taken" });
      }
    }
    for (const field of ["firstName", "lastName"] as const) {
      const value = input[field];
      if (value && value.length > LIMITS.name) add(field, { code: "max_length", max: LIMITS.name });
    }
    for (const problem of checkPassword(input.password, [username, email, input.firstName])) {
      add("password", problem);
    }
    ValidationError.check(problems);
  }

  /**
   * Checks what a sign-up would create (e-mail free and well formed, names bounded, password
   * strong enough), as create() would; throws ValidationError. The username comes later.
   */
  function checkSignup(
    input: { email: string; password: string; firstName: string; lastName: string },
  ): Promise<void> {
    return checkNewAccount(input);
  }

  /** A password's stored form, computed under the hashing bound (Overloaded when full). */
  function hashNewPassword(password: string): Promise<string> {
    return hashing(() => hashPassword(password, deps.passwordIterations));
  }

  /** Creates an account. Refuses bad or taken names and weak passwords (ValidationError). */
  async function create(input: NewAccount): Promise<User> {
    await checkNewAccount(input);
    const password = await hashing(() => hashPassword(input.password, deps.passwordIterations));
    try {
      const row = await insertUser(db, {
        username: input.username,
        email: input.email ?? null,
        password,
        first_name: input.firstName ?? "",
        last_name: input.lastName ?? "",
        role: input.role ?? "member",
        image: input.image ?? "",
        email_verified: input.emailVerified ? 1 : 0,
        is_bot: input.isBot ? 1 : 0,
        date_joined: now(),
        last_seen: null,
        current_room_id: null,
      });
      const user = toUser(row);
      events.publish(topic.everyone, { type: "user.updated", user });
      return user;
    } catch (err) {
      // Another request took the name between the check and the insert.
      if (isUniqueViolation(err, "users.username")) {
        throw ValidationError.of("username", { code: "username_taken" });
      }
      if (isUniqueViolation(err, "users.email")) {
        throw ValidationError.of("email", { code: "email_taken" });
      }
      throw err;
    }
  }

  /**
   * meet's sign-up: e-mail, full name and password. The username is derived from the e-mail
   * (its local part, made unique with a number); the name splits into first and last.
   * `client` is the caller's address, for the per-address limit.
   */
  async function register(
    input: { email: string; name: string; password: string },
    client?: string,
  ): Promise<User> {
    await limitClient("register", client);
    const { firstName, lastName } = splitName(input.name);
    for (const username of usernameCandidates(input.email)) {
      if (RESERVED_USERNAMES.has(username.toLowerCase()) || await usernameTaken(db, username)) {
        continue;
      }
      try {
        return await create({
          username,
          email: input.email,
          password: input.password,
          firstName,
          lastName,
        });
      } catch (err) {
        // Someone took the name an instant ago: try the next one.
        const onlyUsername = err instanceof ValidationError &&
          Object.keys(err.problems).join() === "username";
        if (!onlyUsername) throw err;
      }
    }
    throw ValidationError.of("email", { code: "no_free_username" });
  }

  /**
   * The active account whose username or e-mail is `login` and whose password matches.
   * Unknown logins take as long as wrong passwords, so timing does not reveal accounts.
   */
  async function authenticate(login: string, password: string): Promise<User> {
    const candidates = await findUserRowsByLogin(db, login);
    if (candidates.length === 0) {
      await hashing(() => dummyVerify(password, deps.passwordIterations));
      throw new AuthenticationError("authentication_failed");
    }
    for (const row of candidates) {
      if (!await hashing(() => verifyPassword(password, row.password))) continue;
      if (row.is_active !== 1) break;
      if (needsRehash(row.password, deps.passwordIterations)) {
        // Imported or older hashes move to the configured cost on their next login.
        const rehashed = await hashing(() => hashPassword(password, deps.passwordIterations));
        await updateUserRow(db, row.id, { password: rehashed });
      }
      return toUser(row);
    }
    throw new AuthenticationError("authentication_failed");
  }

  /** Milliseconds the next login attempt for `login` waits before its password is checked. */
  function loginDelay(login: string): number {
    if (slowdownMax === 0) return 0;
    return slowdownMs(nameFailures.count(login.toLowerCase()), deps.loginMaxFailures, slowdownMax);
  }

  /**
   * authenticate() and start a session: the pair every face's login returns. `client` is
   * the caller's address (undefined for in-process callers, which no per-address limit
   * applies to). Refusals, in order: too many attempts from the client (RateLimited), too
   * many failures for this login name from this client (RateLimited), too much hashing in
   * progress (Overloaded). Failures for a login name from all clients together slow its
   * answers down (loginDelay) instead. Each attempt counts as a failure before the password
   * is checked and is given back when it succeeds, so parallel guesses cannot all slip past
   * the limits while the first ones are still hashing.
   */
  async function login(
    login: string,
    password: string,
    client?: string,
  ): Promise<TokenPair & { user: User }> {
    await limitClient("login", client);
    const name = login.toLowerCase();
    const pair = `${name}\n${client ?? ""}`;
    const wait = loginFailures.reserve(pair);
    if (wait > 0) {
      throttled("login_failures");
      throw new RateLimited(wait);
    }
    const delay = loginDelay(name);
    const counted = slowdownMax > 0 && nameFailures.reserve(name) === 0;
    const giveBack = () => counted && nameFailures.release(name);
    let user: User;
    try {
      if (delay > 0) await sleep(delay);
      user = await authenticate(login, password);
    } catch (err) {
      if (!(err instanceof AuthenticationError)) {
        loginFailures.release(pair);
        giveBack();
      }
      throw err;
    }
    loginFailures.reset(pair);
    giveBack();
    return { ...await tokens.issue(user.id), user };
  }

  async function get(id: number): Promise<User> {
    const row = await findUserRow(db, id);
    if (!row) throw new NotFound();
    return toUser(row);
  }

  /** Accounts by id, in no particular order; unknown ids are left out. */
  function getMany(ids: number[]): Promise<User[]> {
    return findUsersByIds(db, [...new Set(ids)]);
  }

  async function getByUsername(username: string): Promise<User> {
    const row = await findUserRowByUsername(db, username);
    if (!row) throw new NotFound();
    return toUser(row);
  }

  async function updateProfile(id: number, changes: ProfileChanges): Promise<User> {
    const { add, problems } = problemList();
    for (const field of ["firstName", "lastName"] as const) {
      const value = changes[field];
      if (typeof value === "string" && value.length > LIMITS.name) {
        add(field, { code: "max_length", max: LIMITS.name });
      }
    }
    ValidationError.check(problems);
    const row = await updateUserRow(db, id, {
      first_name: changes.firstName,
      last_name: changes.lastName,
      image: changes.image,
      language: changes.language,
      gender: changes.gender,
      camera_on: changes.cameraOn === undefined ? undefined : changes.cameraOn ? 1 : 0,
    });
    if (!row) throw new NotFound();
    const user = toUser(row);
    events.publish(topic.everyone, { type: "user.updated", user });
    return user;
  }

  /**
   * Sets a new password and ends every session, so old tokens stop working; with `keepSession`,
   * that one (the caller's own) stays.
   */
  async function changePassword(id: number, password: string, keepSession?: string): Promise<void> {
    const user = await get(id);
    const problems = checkPassword(password, [user.username, user.email, user.firstName]);
    if (problems.length > 0) throw new ValidationError({ password: problems });
    await updateUserRow(db, id, {
      password: await hashing(() => hashPassword(password, deps.passwordIterations)),
    });
    await tokens.endAllSessions(id, keepSession);
  }

  /** Every active account, by id, in pages of `pageSize`: each page is read when it is used. */
  async function* activePages(pageSize = LIMITS.userPage): AsyncGenerator<User[]> {
    let after = 0;
    while (true) {
      const page = await selectActiveUsersPage(db, after, pageSize);
      if (page.length > 0) yield page;
      if (page.length < pageSize) return;
      after = page[page.length - 1].id;
    }
  }

  /**
   * Deactivates an account: its tokens stop working and its sockets are told to close.
   * With `anonymise`, the personal data goes too; its messages stay under a neutral name.
   */
  async function deactivate(id: number, options: { anonymise?: boolean } = {}): Promise<void> {
    const anonymous = options.anonymise
      ? {
        username: `deleted-${id}`,
        email: null,
        first_name: "",
        last_name: "",
        image: "",
        password: `${UNUSABLE_PASSWORD}deleted`,
      }
      : {};
    const row = await updateUserRow(db, id, { is_active: 0, ...anonymous });
    if (!row) throw new NotFound();
    await tokens.endAllSessions(id);
    events.publish(topic.user(id), { type: "user.deactivated", userId: id });
    events.publish(topic.everyone, { type: "user.updated", user: toUser(row) });
  }

  /** True when no account exists yet (first start). */
  async function isEmpty(): Promise<boolean> {
    return await countUsers(db) === 0;
  }

  return {
    create,
    checkSignup,
    hashNewPassword,
    register,
    authenticate,
    login,
    loginDelay,
    get,
    getMany,
    getByUsername,
    updateProfile,
    changePassword,
    activePages,
    deactivate,
    isEmpty,
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
