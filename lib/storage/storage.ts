// Where uploaded bytes live: a directory on this machine, or an S3 bucket. The core keeps the
// records (db/attachments.ts); a back-end only stores, hands out and deletes bytes by key.
import { TooLarge } from "../errors.ts";

export type StorageKind = "local" | "s3";

/** What a back-end may need to know about a file besides its bytes. */
export interface FileFacts {
  contentType: string;
  /** The client's file name (sanitised), for a download's file name. */
  name: string;
}

export interface Storage {
  readonly kind: StorageKind;
  /**
   * Stores `body` under `key` and returns its size. Throws TooLarge, having stored nothing,
   * once more than `maxBytes` arrive; never holds more than that in memory.
   */
  put(
    key: string,
    body: ReadableStream<Uint8Array>,
    facts: FileFacts,
    maxBytes: number,
  ): Promise<number>;
  /** Removes the bytes; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A URL a browser can GET, and when it stops working (ms; null: never). */
  url(key: string, facts: FileFacts): Promise<{ url: string; expiresAt: number | null }>;
  /** The stored bytes, when this back-end serves them itself (local); undefined if absent. */
  open?(key: string): Promise<{ body: ReadableStream<Uint8Array>; size: number } | undefined>;
  /** Lets go of connections; the back-end is not used again. */
  close(): void;
}

/** `body` as a stream. */
export function asStream(
  body: ReadableStream<Uint8Array> | Uint8Array,
): ReadableStream<Uint8Array> {
  if (!(body instanceof Uint8Array)) return body;
  return new ReadableStream({
    start(controller) {
      if (body.length > 0) controller.enqueue(body);
      controller.close();
    },
  });
}

/** Passes `body` through, erroring with TooLarge as soon as more than `maxBytes` went by. */
export function limited(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(new TooLarge(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
}
