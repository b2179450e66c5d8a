// The desk face's web pages (specs/desk.md, "Web Pages"): /login/, /logout/ and the chat page
// at /, plus the static files they use under /static/. The chat page is static HTML and plain
// JavaScript over the same REST and Socket.IO contract as every other desk client; the session
// is the access token in an HttpOnly cookie, which requireAuth({cookie: true}) and the desk
// socket (same-origin handshakes) accept.
import { type Context, Hono } from "hono";
import { setCookie } from "hono/cookie";
import { decodeJwt } from "jose";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { isTeacher } from "@/lib/desk.ts";
import { AuthenticationError, Overloaded } from "@/lib/errors.ts";
import type { Principal } from "@/lib/records.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type AppEnv, clientAddress } from "@/routes/context.ts";
import { cookieValue, SESSION_COOKIE } from "@/realtime/credentials.ts";
import { retryAfterOf, seconds } from "@/routes/wording.ts";
import { deskDocs as docs } from "./openapi.ts";
import { staticFiles } from "@/routes/static_files.ts";

const PAGES = new URL("./pages/", import.meta.url);

/** The files under /static/, by name, with their content types. */
const STATIC_FILES: Record<string, string> = {
  "desk.js": "text/javascript; charset=utf-8",
  "desk.css": "text/css; charset=utf-8",
  "avatar.svg": "image/svg+xml",
};

/** Only these names match the route; anything else under /static/ is a plain 404. */
const STATIC_NAMES = Object.keys(STATIC_FILES).map((n) => n.replace(/[.]/g, "\\.")).join("|");

const CSP = [
  "default-src 'self'",
  "img-src 'self' data: http: https:",
  "connect-src 'self' ws: wss:",
  "script-src 'self'",
  "style-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

const loginForm = z.object({
  username: z.string({ error: "Enter your username." }).trim()
    .min(1, "Enter your username.").max(LIMITS.login, "That username is too long."),
  password: z.string({ error: "Enter your password." })
    .min(1, "Enter your password.").max(LIMITS.password, "That password is too long."),
});

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

/** JSON that is safe inside a `<script type="application/json">` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * Fills `{{name}}` (HTML-escaped; spaces inside the braces are allowed) and `{{!name}}` (inserted as is: the caller escaped it) from
 * `values`, and `"{{json:name}}"`, quotes included, with `data[name]` as script-safe JSON (the
 * quotes keep the template itself valid HTML and JSON). A placeholder without a value is empty.
 */
export function fillTemplate(
  template: string,
  values: Record<string, string>,
  data: Record<string, unknown> = {},
): string {
  return template.replace(
    /"\{\{\s*json:(\w+)\s*\}\}"|\{\{\s*(!?)(\w+)\s*\}\}/g,
    (_, json: string | undefined, raw: string, name: string) => {
      if (json !== undefined) return scriptJson(data[json] ?? null);
      const value = values[name] ?? "";
      return raw ? value : escapeHtml(value);
    },
  );
}

const asset = staticFiles((name) => new URL(name, PAGES));

async function template(name: string): Promise<string> {
  return new TextDecoder().decode((await asset(name)).body);
}

function isHttps(c: Context): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  const forwarded = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  return forwarded === "https";
}

type PageStatus = 200 | 400 | 401 | 429 | 503;

/** "1 second", "30 seconds". */
/** An HTML page with the headers every page carries. */
function htmlPage(c: Context, html: string, status: PageStatus = 200): Response {
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
  return c.html(html, status);
}

function redirect(c: Context, location: string): Response {
  c.header("Cache-Control", "no-store");
  return c.redirect(location, 303);
}

function clearSession(c: Context): void {
  setCookie(c, SESSION_COOKIE, "", {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: isHttps(c),
    maxAge: 0,
  });
}

/** Seconds the access token stays valid from its issue time (its TTL). */
function tokenLifetime(access: string): number | undefined {
  try {
    const { exp, iat } = decodeJwt(access);
    if (typeof exp === "number" && typeof iat === "number" && exp > iat) return exp - iat;
  } catch {
    // Not a JWT we can read: a session cookie, then.
  }
  return undefined;
}

export function pageRoutes(core: Core) {
  /** The principal behind the session cookie, or undefined when there is none or it is dead. */
  async function session(c: Context): Promise<{ token: string; principal: Principal } | undefined> {
    let token: string | undefined;
    try {
      token = cookieValue(c.req.header("cookie") ?? null, SESSION_COOKIE);
    } catch {
      // A malformed %-escape in the cookie (decodeURIComponent throws): no session.
      return undefined;
    }
    if (!token) return undefined;
    try {
      return { token, principal: await core.tokens.authenticate(token) };
    } catch (err) {
      if (err instanceof AuthenticationError) return undefined;
      throw err;
    }
  }

  async function loginPage(
    c: Context,
    { username = "", error = "", status = 200 as PageStatus } = {},
  ): Promise<Response> {
    const [html, css] = await Promise.all([template("login.html"), asset("desk.css")]);
    return htmlPage(
      c,
      fillTemplate(html, {
        cssVersion: css.version,
        username,
        usernameFocus: username ? "" : " autofocus",
        passwordFocus: username ? " autofocus" : "",
        error,
      }),
      status,
    );
  }

  async function logout(c: Context): Promise<Response> {
    const current = await session(c);
    if (current) {
      const { principal } = current;
      await core.tokens.endSession(principal.user.id, principal.sessionId);
    }
    clearSession(c);
    return redirect(c, "/login/");
  }

  return new Hono<AppEnv>()
    .get("/", docs.chatPage, async (c) => {
      const current = await session(c);
      if (!current) {
        if (c.req.header("cookie")?.includes(`${SESSION_COOKIE}=`)) clearSession(c);
        return redirect(c, "/login/");
      }
      const user = current.principal.user;
      const [html, css, js] = await Promise.all([
        template("desk.html"),
        asset("desk.css"),
        asset("desk.js"),
      ]);
      const me = {
        id: user.id,
        username: user.username,
        first_name: user.firstName,
        last_name: user.lastName,
        role: isTeacher(user) ? "teacher" : "student",
      };
      return htmlPage(
        c,
        fillTemplate(html, { cssVersion: css.version, jsVersion: js.version }, { me }),
      );
    })
    .get("/login", docs.loginRedirect, (c) => c.redirect("/login/", 301))
    .get("/login/", docs.loginPage, async (c) => {
      if (await session(c)) return redirect(c, "/");
      return await loginPage(c);
    })
    .post("/login/", docs.login, async (c) => {
      const body = await c.req.parseBody().catch(() => ({}));
      const parsed = loginForm.safeParse(body);
      const typed = typeof (body as Record<string, unknown>).username === "string"
        ? String((body as Record<string, unknown>).username).slice(0, 254)
        : "";
      if (!parsed.success) {
        const error = parsed.error.issues.map((issue) => issue.message).join(" ");
        return await loginPage(c, { username: typed, error, status: 400 });
      }
      const { username, password } = parsed.data;
      let access: string;
      try {
        ({ access } = await core.accounts.login(username, password, clientAddress(c)));
      } catch (err) {
        if (err instanceof AuthenticationError) {
          return await loginPage(c, {
            username,
            error: "Wrong username or password.",
            status: 401,
          });
        }
        const retryAfter = retryAfterOf(err);
        if (retryAfter === undefined) throw err;
        c.header("Retry-After", String(retryAfter));
        const busy = err instanceof Overloaded;
        const why = busy ? "The server is busy." : "Too many sign-in attempts.";
        return await loginPage(c, {
          username,
          error: `${why} Try again in ${seconds(retryAfter)}.`,
          status: busy ? 503 : 429,
        });
      }
      setCookie(c, SESSION_COOKIE, access, {
        path: "/",
        httpOnly: true,
        sameSite: "Lax",
        secure: isHttps(c),
        maxAge: tokenLifetime(access),
      });
      return redirect(c, "/");
    })
    .get("/logout", docs.logoutRedirect, (c) => c.redirect("/logout/", 301))
    .get("/logout/", docs.logout, logout)
    .post("/logout/", docs.logout, logout)
    .get(`/static/:name{${STATIC_NAMES}}`, docs.staticFile, async (c) => {
      const name = c.req.param("name");
      const type = STATIC_FILES[name];
      const file = await asset(name);
      const versioned = c.req.query("v") === file.version;
      const headers = {
        "Content-Type": type,
        "Cache-Control": versioned ? "public, max-age=31536000, immutable" : "no-cache",
        "X-Content-Type-Options": "nosniff",
        ETag: file.etag,
      };
      const match = c.req.header("if-none-match");
      if (match && match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === file.etag)) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(file.body, { headers });
    });
}
