// "List everything" responses (whole histories today; inbox conversations, lounge users and
// live lists later): a JSON array streamed page by page from an async page source. Each page is
// shaped and written before the next is read, so a response holds one page whatever the list's
// length, and a client that goes away stops the reading.
import type { Context } from "hono";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";

export type ListOutcome = "complete" | "cancelled" | "failed";

const encoder = new TextEncoder();

/**
 * The reason an aborted list's body carries to the HTTP server (Deno.serve's onError): the
 * failure itself is already logged, with its list and path.
 */
export class ListAborted extends Error {
  constructor(readonly list: string) {
    super(`list ${list} aborted`);
    this.name = "ListAborted";
  }
}

/** The pages of `source`, each shaped by `shape` only when it is read. */
export async function* mapPages<T, U>(
  source: AsyncIterable<T[]>,
  shape: (page: T[]) => U[] | Promise<U[]>,
): AsyncGenerator<U[]> {
  for await (const page of source) yield await shape(page);
}

export function createListStreams({ log, metrics }: { log: Logger; metrics: Metrics }) {
  const peaks = new Map<string, number>();

  /** Records the rows a response holds, keeping the most any response of `list` held. */
  function holding(list: string, rows: number) {
    if (rows <= (peaks.get(list) ?? 0)) return;
    peaks.set(list, rows);
    metrics.listRowsPeak.set({ list }, rows);
  }

  /**
   * A 200 response whose body is the JSON array of every item `pages` yields, in order; `list`
   * names it in metrics and logs. Once the status is sent a failure cannot change it: the body
   * is aborted (the client sees a broken response, never a shorter valid array) and logged.
   */
  function respond(
    c: Context,
    list: string,
    pages: AsyncIterable<unknown[]>,
    headers: Record<string, string> = {},
    /** Wraps the array as `{"<field>": [...]}` (inbox's `{"messages": [...]}`). */
    field?: string,
  ): Response {
    const open = field === undefined ? "[" : `{${JSON.stringify(field)}:[`;
    const close = field === undefined ? "]" : "]}";
    const source = pages[Symbol.asyncIterator]();
    let opened = false;
    let ended = false;
    let read = 0;
    const end = (outcome: ListOutcome) => {
      ended = true;
      metrics.listStreams.inc({ list, outcome });
    };

    // highWaterMark 0: a page is read only when the previous one has been taken by the
    // connection, and pull is never re-entered, so the page in hand is all a response holds.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          while (true) {
            const next = await source.next();
            if (ended) return; // cancelled while the page was read
            if (next.done) {
              controller.enqueue(encoder.encode(opened ? close : open + close));
              controller.close();
              end("complete");
              return;
            }
            read++;
            metrics.listPages.inc({ list });
            const rows = next.value;
            if (rows.length === 0) continue;
            holding(list, rows.length);
            const text = rows.map((row) => JSON.stringify(row)).join(",");
            controller.enqueue(encoder.encode((opened ? "," : open) + text));
            opened = true;
            return;
          }
        } catch (error) {
          if (ended) return;
          end("failed");
          log.error("list stream failed", { list, path: c.req.path, pages: read, error });
          controller.error(new ListAborted(list));
        }
      },
      async cancel() {
        if (ended) return;
        end("cancelled");
        await source.return?.();
      },
    }, { highWaterMark: 0 });

    return c.body(body, 200, { "content-type": "application/json", ...headers });
  }

  return { respond };
}

export type ListStreams = ReturnType<typeof createListStreams>;
