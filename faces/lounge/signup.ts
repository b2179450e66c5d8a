// Lounge's e-mail confirmed sign-up: POST /http/register mails a link to
// GET /http/register/<token>, which creates the account (core.signups). The link is absolute,
// built from PUBLIC_URL or the origin the client used. The link is opened in a browser, so its
// answer is a tiny HTML page there, and JSON for any other client (Accept decides).
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { ChatError } from "@/lib/errors.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type AppEnv, clientAddress } from "@/routes/context.ts";
import { errorResponse } from "@/routes/errors.ts";
import { detailOf } from "@/routes/wording.ts";
import { readFields } from "./fields.ts";
import { loungeProfile } from "./json.ts";
import { loungeDocs } from "./openapi.ts";
import { WORDS } from "./wording.ts";

const registration = z.object({
  email: z.email().max(LIMITS.email),
  password: z.string().min(1).max(LIMITS.password),
  first_name: z.string().trim().min(1).max(LIMITS.name),
  last_name: z.string().trim().max(LIMITS.name).default(""),
});

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    escapeHtml(title)
  }</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
}

const docs = loungeDocs({ registration });

export function loungeSignupRoutes(core: Core, { publicUrl }: { publicUrl?: string }) {
  return new Hono<AppEnv>()
    .post("/register", docs.register, async (c) => {
      const input = await readFields(c, registration);
      const base = publicUrl ?? new URL(c.req.url).origin;
      await core.signups.start(
        {
          email: input.email,
          password: input.password,
          firstName: input.first_name,
          lastName: input.last_name,
        },
        (token) => `${base}/http/register/${encodeURIComponent(token)}`,
        clientAddress(c),
      );
      return c.json({ detail: WORDS.signupMailed(input.email) }, 202);
    })
    .get("/register/:token", docs.confirm, async (c) => {
      const html = (c.req.header("accept") ?? "").includes("text/html");
      try {
        const user = await core.signups.confirm(c.req.param("token"));
        if (!html) return c.json(loungeProfile(user), 201);
        return c.html(page(WORDS.signupDoneTitle, WORDS.signupDone), 201);
      } catch (err) {
        if (!html || !(err instanceof ChatError)) throw err;
        const status = errorResponse(c, err).status;
        return c.html(page(WORDS.signupFailedTitle, detailOf(err)), status as 400);
      }
    });
}
