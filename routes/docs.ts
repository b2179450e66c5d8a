// The API's documents and the page that shows them: /openapi.json (routes/openapi.ts),
// /asyncapi.json (realtime/asyncapi.ts), and /docs, Swagger UI from the swagger-ui-dist npm
// package, served from here (no CDN) under a CSP without inline scripts.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { asyncApiDocument, type RealtimeChannel } from "@/realtime/asyncapi.ts";
import type { AppEnv } from "./context.ts";
import { jsonResponse, openApiDocument, operation, TAGS } from "./openapi.ts";
import { staticFiles } from "./static_files.ts";

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** Where npm installed swagger-ui-dist (node_modules, nodeModulesDir: auto). */
const UI_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const OWN_DIR = new URL("./docs_page/", import.meta.url);

/** The files /docs/assets/ serves, and their types. */
const ASSETS: Record<string, { type: string; path: () => string | URL }> = {
  "swagger-ui.css": { type: "text/css; charset=utf-8", path: () => join(UI_DIR, "swagger-ui.css") },
  "swagger-ui-bundle.js": {
    type: "text/javascript; charset=utf-8",
    path: () => join(UI_DIR, "swagger-ui-bundle.js"),
  },
  "docs.js": { type: "text/javascript; charset=utf-8", path: () => new URL("docs.js", OWN_DIR) },
  "favicon-32x32.png": { type: "image/png", path: () => join(UI_DIR, "favicon-32x32.png") },
};
const ASSET_NAMES = Object.keys(ASSETS).map((n) => n.replace(/[.-]/g, "\\$&")).join("|");

const asset = staticFiles((name) => ASSETS[name].path());

/** The page, with cache-busting versions of its assets. */
async function renderPage(): Promise<string> {
  const [template, ui, own] = await Promise.all([
    Deno.readTextFile(new URL("docs.html", OWN_DIR)),
    asset("swagger-ui-bundle.js"),
    asset("docs.js"),
  ]);
  return template.replaceAll("{{uiVersion}}", ui.version)
    .replaceAll("{{ownVersion}}", own.version);
}

const doc = operation("ops");
const anyJson = z.record(z.string(), z.unknown());

export interface DocsOptions {
  /** The whole app, whose routes the OpenAPI document describes. */
  app: Hono<AppEnv>;
  /** Every realtime endpoint, for the AsyncAPI document. */
  channels: readonly RealtimeChannel[];
  publicUrl?: string;
}

export function docsRoutes({ app, channels, publicUrl }: DocsOptions) {
  // Built on the first request, when every route is mounted, then kept.
  let openApi: Promise<unknown> | undefined;
  let asyncApi: unknown;
  let page: Promise<string> | undefined;
  const jsonDoc = (c: Context, body: unknown) => {
    c.header("Cache-Control", "no-cache");
    return c.json(body as Record<string, unknown>);
  };

  return new Hono<AppEnv>()
    .get(
      "/openapi.json",
      doc({
        summary: "This document (OpenAPI 3.1)",
        responses: { 200: jsonResponse("The document", anyJson) },
      }),
      async (c) => {
        openApi ??= openApiDocument(app as never, { publicUrl }).catch((error) => {
          openApi = undefined;
          throw error;
        });
        return jsonDoc(c, await openApi);
      },
    )
    .get(
      "/asyncapi.json",
      doc({
        summary: "The realtime endpoints' frames (AsyncAPI 3)",
        responses: { 200: jsonResponse("The document", anyJson) },
      }),
      (c) => jsonDoc(c, asyncApi ??= asyncApiDocument(channels, { publicUrl, tags: TAGS })),
    )
    .get(
      "/docs",
      doc({
        summary: "The API reference page (Swagger UI)",
        responses: { 200: { description: "The page", content: { "text/html": {} } } },
      }),
      async (c) => {
        page ??= renderPage().catch((error) => {
          page = undefined;
          throw error;
        });
        const html = await page;
        c.header("Content-Security-Policy", CSP);
        c.header("X-Content-Type-Options", "nosniff");
        c.header("Referrer-Policy", "same-origin");
        c.header("Cache-Control", "no-cache");
        return c.html(html);
      },
    )
    .get(
      `/docs/assets/:name{${ASSET_NAMES}}`,
      doc({
        summary: "The page's script and style sheet (from the swagger-ui-dist package)",
        responses: { 200: { description: "The file" } },
      }),
      async (c) => {
        const name = c.req.param("name");
        const file = await asset(name);
        const versioned = c.req.query("v") === file.version;
        return new Response(file.body, {
          headers: {
            "Content-Type": ASSETS[name].type,
            "Cache-Control": versioned ? "public, max-age=31536000, immutable" : "no-cache",
            "X-Content-Type-Options": "nosniff",
          },
        });
      },
    );
}
