// The headers of a whole-history response (desk's and meet's "everything" form): how many
// messages the room holds, and when HISTORY_MAX left the oldest out, where to page on from.
import type { HistorySnapshot } from "@/lib/messages.ts";
import { LIMITS } from "@/lib/limits.ts";

/** Read by browser clients too, so CORS exposes them (routes/app.ts). */
export const HISTORY_HEADERS = ["Link", "X-Total-Count", "X-History-Truncated"];

/** `path` is the request's path; the Link (RFC 8288) is relative to it. */
export function historyHeaders(
  path: string,
  snapshot: Pick<HistorySnapshot, "total" | "truncated" | "oldestId">,
): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Total-Count": String(snapshot.total),
    "X-History-Truncated": String(snapshot.truncated),
  };
  if (snapshot.truncated && snapshot.oldestId !== undefined) {
    const next = `${path}?before=${snapshot.oldestId}&limit=${LIMITS.historyPage}`;
    headers.Link = `<${next}>; rel="next"`;
  }
  return headers;
}
