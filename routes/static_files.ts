// Files a page needs (scripts, styles, images), read once and kept with a short content hash for
// cache-busting `?v=` query strings and ETags. A failed read is tried again next time rather
// than remembered.

export interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  /** A short content hash. */
  version: string;
  /** `"<version>"`, for ETag / If-None-Match. */
  etag: string;
}

/** A cache of files by name; `locate` says where each name is read from. */
export function staticFiles(locate: (name: string) => string | URL) {
  const files = new Map<string, Promise<StaticFile>>();

  async function load(name: string): Promise<StaticFile> {
    const body = await Deno.readFile(locate(name));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const version = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    return { body, version, etag: `"${version}"` };
  }

  return function file(name: string): Promise<StaticFile> {
    let entry = files.get(name);
    if (!entry) {
      entry = load(name);
      entry.catch(() => files.delete(name));
      files.set(name, entry);
    }
    return entry;
  };
}
