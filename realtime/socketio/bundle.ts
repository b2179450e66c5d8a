// The browser client, as the official server serves it: the installed socket.io-client's
// builds at <path>socket.io.js, socket.io.min.js and socket.io.esm.min.js (+ .map), with ETags.

const FILES: Record<string, string> = {
  "socket.io.js": "application/javascript; charset=utf-8",
  "socket.io.min.js": "application/javascript; charset=utf-8",
  "socket.io.esm.min.js": "application/javascript; charset=utf-8",
  "socket.io.js.map": "application/json; charset=utf-8",
  "socket.io.min.js.map": "application/json; charset=utf-8",
  "socket.io.esm.min.js.map": "application/json; charset=utf-8",
};

const DIST = new URL("../../node_modules/socket.io-client/dist/", import.meta.url);

interface Cached {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

const cache = new Map<string, Promise<Cached | undefined>>();

async function load(name: string): Promise<Cached | undefined> {
  try {
    const body = await Deno.readFile(new URL(name, DIST));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", body));
    const etag = `"${
      Array.from(digest.slice(0, 10), (b) => b.toString(16).padStart(2, "0")).join("")
    }"`;
    return { body, etag };
  } catch {
    return undefined;
  }
}

/** Whether `name` (the part after the server path) is one of the client files. */
export function isClientFile(name: string): boolean {
  return name in FILES;
}

export async function serveClientFile(req: Request, name: string): Promise<Response> {
  let entry = cache.get(name);
  if (!entry) cache.set(name, entry = load(name));
  const file = await entry;
  if (!file) return new Response("Not Found", { status: 404 });
  const headers = {
    "Content-Type": FILES[name],
    "Cache-Control": "public, max-age=0",
    ETag: file.etag,
  };
  if (req.headers.get("if-none-match") === file.etag) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(file.body, { headers });
}
