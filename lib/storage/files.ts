// Naming uploaded files: storage keys are generated (unguessable, safe on any file system and in
// a URL path); the client's name and content type are cleaned before they are kept.

/** Longest client file name kept, in characters. */
export const NAME_MAX = 200;

const FALLBACK_TYPE = "application/octet-stream";

/** A storage key: 32 hex characters, and an extension of 1 to 10 lowercase letters or digits. */
export const KEY_PATTERN = /^[0-9a-f]{32}(\.[a-z0-9]{1,10})?$/;

const EXTENSION_OF_TYPE: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/avif": "avif",
  "image/bmp": "bmp",
  "image/svg+xml": "svg",
  "application/pdf": "pdf",
  "application/json": "json",
  "application/zip": "zip",
  "text/plain": "txt",
  "text/html": "html",
  "text/csv": "csv",
  "audio/mpeg": "mp3",
  "audio/ogg": "ogg",
  "audio/wav": "wav",
  "audio/webm": "weba",
  "video/mp4": "mp4",
  "video/webm": "webm",
  "video/ogg": "ogv",
  "video/quicktime": "mov",
};

/**
 * Types a browser shows without running anything: served inline; all else is a download. PDF is
 * a download: it can carry scripts, and browsers refuse to show it under the sandbox CSP anyway.
 */
const INLINE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "text/plain",
]);

/** A client's content type reduced to `type/subtype` in lowercase, or octet-stream. */
export function normalizeContentType(raw: string | undefined): string {
  const essence = (raw ?? "").split(";")[0].trim().toLowerCase();
  const token = "[a-z0-9!#$&^_.+-]+";
  if (essence.length > 100 || !new RegExp(`^${token}/${token}$`).test(essence)) {
    return FALLBACK_TYPE;
  }
  return essence;
}

/**
 * The client's file name as a name only: the last path segment (either slash), without control
 * characters, at most NAME_MAX characters; "file" when nothing is left.
 */
export function sanitizeName(raw: string): string {
  // deno-lint-ignore no-control-regex
  const segment = raw.split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f-\u009f]/g, "")
    .normalize("NFC").trim();
  const chars = [...segment];
  const kept = chars.length > NAME_MAX ? chars.slice(0, NAME_MAX).join("") : segment;
  return kept === "" || kept === "." || kept === ".." ? "file" : kept;
}

/** A fresh storage key: 128 random bits in hex, with an extension that says what it holds. */
export function generateKey(contentType: string, name: string): string {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const fromName = /\.([A-Za-z0-9]{1,10})$/.exec(name)?.[1].toLowerCase();
  const extension = EXTENSION_OF_TYPE[contentType] ?? fromName;
  return extension ? `${random}.${extension}` : random;
}

/** True when a browser may show this type in place (nothing in it can run). */
export function isInlineSafe(contentType: string): boolean {
  return INLINE_TYPES.has(contentType) || /^(audio|video)\//.test(contentType);
}

/** RFC 8187 encoding of a header parameter value: UTF-8, percent-encoded beyond attr-char. */
function extValue(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The Content-Disposition for serving a file: inline for types that cannot run, a download
 * (attachment) for everything else. The name goes in both an ASCII fallback and UTF-8.
 */
export function contentDisposition(name: string, contentType: string): string {
  const kind = isInlineSafe(contentType) ? "inline" : "attachment";
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}
