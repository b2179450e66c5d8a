// Uploads on this machine's disk: `<dir>/<first two characters of the key>/<key>`. A file is
// written under a temporary name and renamed into place, so a reader never sees half of one.
import type { FileFacts, Storage } from "./storage.ts";
import { limited } from "./storage.ts";
import { KEY_PATTERN } from "./files.ts";

export function createLocalStorage(dir: string): Storage {
  const root = dir.replace(/\/+$/, "");
  const pathOf = (key: string) => {
    // Keys are generated here; the check keeps a forged one from naming any other path.
    if (!KEY_PATTERN.test(key)) throw new Error("not a storage key");
    return `${root}/${key.slice(0, 2)}/${key}`;
  };

  async function put(
    key: string,
    body: ReadableStream<Uint8Array>,
    _facts: FileFacts,
    maxBytes: number,
  ): Promise<number> {
    const path = pathOf(key);
    const tmpDir = `${root}/.tmp`;
    await Deno.mkdir(tmpDir, { recursive: true });
    const tmp = `${tmpDir}/${key}.${crypto.randomUUID()}`;
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o640 });
      // pipeTo closes the file when the body ends, and aborts (closes) it when the body fails.
      await limited(body, maxBytes).pipeTo(file.writable);
      const { size } = await Deno.stat(tmp);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.rename(tmp, path);
      return size;
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }

  async function open(key: string) {
    if (!KEY_PATTERN.test(key)) return undefined;
    try {
      const file = await Deno.open(pathOf(key), { read: true });
      try {
        const { size } = await file.stat();
        return { body: file.readable, size };
      } catch (err) {
        file.close();
        throw err;
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  return {
    kind: "local",
    put,
    open,
    async delete(key) {
      await Deno.remove(pathOf(key)).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    },
    url: (key) => Promise.resolve({ url: `/uploads/${key}`, expiresAt: null }),
    close() {},
  };
}
