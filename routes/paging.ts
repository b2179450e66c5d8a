// For clients that never page: walks a history backwards in capped pages and returns it all,
// oldest first, as the original backends did.
import type { Message } from "@/lib/records.ts";

export async function wholeHistory<M extends Message>(
  page: (before: number | undefined) => Promise<{ messages: M[]; hasMore: boolean }>,
): Promise<M[]> {
  const pages: M[][] = [];
  let before: number | undefined;
  while (true) {
    const { messages, hasMore } = await page(before);
    pages.unshift(messages);
    if (!hasMore || messages.length === 0) break;
    before = messages[0].id;
  }
  return pages.flat();
}
