// inbox's attachments: POST /api/rooms/upload (multipart, field `myFile`), the S3 URL checks
// GET /api/rooms/check-url/ and /api/rooms/refresh-url/, and GET /uploads/<key> serving local
// files. Upload and the checks need a token (the spec's examples send none; see the README);
// UPLOAD_ALLOW_ANONYMOUS reopens upload alone. The core decides who may see which file.
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { NotFound, TooLarge } from "@/lib/errors.ts";
import type { AttachmentView } from "@/lib/uploads.ts";
import { contentDisposition } from "@/lib/storage/files.ts";
import { tokenFromRequest } from "@/realtime/credentials.ts";
import { type AppEnv, clientAddress, requireAuth } from "@/routes/context.ts";
import { iso } from "@/routes/json.ts";
import { queryInt, validate } from "@/routes/validation.ts";
import { inboxDocs as docs } from "./openapi.ts";

export interface InboxUploadOptions {
  /** Base of absolute URLs (PUBLIC_URL); the origin the client used when unset. */
  publicUrl?: string;
}

/** The upload route's paths: the app-wide body limit leaves them to this router's own. */
export const INBOX_UPLOAD_PATHS: readonly string[] = ["/api/rooms/upload", "/api/rooms/upload/"];

/** Bytes of multipart framing (boundaries, part headers, other fields) allowed beyond the file. */
export const MULTIPART_SLACK = 16 * 1024;

// DRF's FileField words, in its `{"field": ["message"]}` shape under the form's field name.
const NO_FILE = "No file was submitted.";
const NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form.";
const EMPTY_FILE = "The submitted file is empty.";

const messageQuery = z.object({ message_id: queryInt });

/** Counts a body as it is read and fails it once it passes `limit` bytes. */
function counted(body: ReadableStream<Uint8Array>, limit: number) {
  const state = { tooLarge: false };
  let seen = 0;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) {
          state.tooLarge = true;
          controller.error(new Error("request body too large"));
        } else controller.enqueue(chunk);
      },
    }),
  );
  return { stream, state };
}

export function inboxUploadRoutes(core: Core, options: InboxUploadOptions = {}) {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(core);
  const maxBytes = core.uploads.maxBytes;
  const bodyMax = maxBytes + MULTIPART_SLACK;
  const absolute = (c: Context, url: string) =>
    url.startsWith("/") ? `${options.publicUrl ?? new URL(c.req.url).origin}${url}` : url;
  const fileErrors = (c: Context, text: string) => c.json({ myFile: [text] }, 400);

  /** The multipart form, read with the byte limit; undefined when it cannot be read. */
  async function readForm(c: Context<AppEnv>): Promise<FormData | undefined> {
    const type = c.req.header("content-type") ?? "";
    if (!/^multipart\/form-data\s*;/i.test(type) || !c.req.raw.body) return undefined;
    const { stream, state } = counted(c.req.raw.body, bodyMax);
    try {
      return await new Request(c.req.url, {
        method: "POST",
        headers: { "content-type": type },
        body: stream,
      }).formData();
    } catch {
      if (state.tooLarge) throw new TooLarge(maxBytes);
      return undefined;
    }
  }

  async function upload(c: Context<AppEnv>) {
    // A token is optional only when anonymous uploads are on; one that is sent must be valid.
    const token = tokenFromRequest(c.req.raw);
    const principal = token ? await core.tokens.authenticate(token) : undefined;
    if (principal) c.set("principal", principal);
    const uploaderId = principal?.user.id ?? null;
    await core.uploads.admit(uploaderId, clientAddress(c));

    const declared = Number(c.req.header("content-length"));
    if (declared > bodyMax) throw new TooLarge(maxBytes);
    const form = await readForm(c);
    const file = form?.get("myFile");
    if (file === undefined || file === null) return fileErrors(c, NO_FILE);
    if (!(file instanceof File)) return fileErrors(c, NOT_A_FILE);
    if (file.size === 0) return fileErrors(c, EMPTY_FILE);
    if (file.size > maxBytes) throw new TooLarge(maxBytes);

    const view = await core.uploads.store({
      uploaderId,
      name: file.name,
      contentType: file.type,
      body: file.stream(),
    });
    return c.json({
      file_location: absolute(c, view.url),
      file_identifier: view.key,
      expiration_time: view.expiresAt === null ? null : iso(view.expiresAt),
    });
  }

  const located = (c: Context, view: AttachmentView) => ({
    file_location: absolute(c, view.url),
    expiration_time: view.expiresAt === null ? null : iso(view.expiresAt),
  });

  for (const path of INBOX_UPLOAD_PATHS) app.post(path, docs.upload, upload);

  for (const path of ["/api/rooms/check-url/", "/api/rooms/check-url"]) {
    app.get(path, docs.checkUrl, auth, validate("query", messageQuery), async (c) => {
      const { message_id } = c.req.valid("query");
      const refresh = await core.uploads.checkUrl(message_id, c.get("principal").user.id);
      return c.json({ refresh_url: refresh });
    });
  }

  for (const path of ["/api/rooms/refresh-url/", "/api/rooms/refresh-url"]) {
    app.get(path, docs.refreshUrl, auth, validate("query", messageQuery), async (c) => {
      const { message_id } = c.req.valid("query");
      const view = await core.uploads.refreshUrl(message_id, c.get("principal").user.id);
      return c.json(located(c, view));
    });
  }

  // Local files, without a token: <img src> cannot send one, and the key is unguessable.
  app.get("/uploads/:key", docs.file, async (c) => {
    const file = await core.uploads.open(c.req.param("key"));
    if (!file) throw new NotFound();
    return new Response(file.body, {
      headers: {
        "content-type": file.contentType,
        "content-length": String(file.size),
        "content-disposition": contentDisposition(file.name, file.contentType),
        "x-content-type-options": "nosniff",
        // Nothing in a served file may run, load or reach anything, whatever it claims to be.
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, max-age=86400",
      },
    });
  });

  return app;
}
