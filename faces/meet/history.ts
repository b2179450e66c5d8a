// GET /api/rooms/{id}/messages/ in one of two shapes (MEET_MESSAGES_SHAPE): the document's bare
// array (everything, oldest first, streamed; or a page by id), or the original front-end's
// `{"results": [...]}`, the newest page older than `?before=<time>`.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Message } from "@/lib/records.ts";
import { type AppEnv, requireAuth } from "@/routes/context.ts";
import { historyHeaders } from "@/routes/history_headers.ts";
import { type ListStreams, mapPages } from "@/routes/list_stream.ts";
import { queryInt, queryTime, validate } from "@/routes/validation.ts";
import { meetMessage } from "./json.ts";
import { meetDocs as docs } from "./openapi.ts";

export type MeetMessagesShape = "array" | "results";

const PATH = "/api/rooms/:id{[0-9]+}/messages/";

const idPage = z.object({
  before: queryInt.optional(),
  after: queryInt.optional(),
  limit: queryInt.optional(),
});

const timePage = z.object({
  before: queryTime.optional(),
  limit: queryInt.pipe(z.number().min(1).max(LIMITS.historyTimePage)).optional(),
});

export function meetHistoryRoutes(core: Core, lists: ListStreams, shape: MeetMessagesShape) {
  const auth = requireAuth(core);

  async function shapeMessages(messages: Message[]) {
    const authors = new Map(
      (await core.accounts.getMany(messages.map((m) => m.authorId))).map((u) => [u.id, u]),
    );
    return messages.map((m) => meetMessage(m, authors.get(m.authorId)));
  }

  if (shape === "results") {
    return new Hono<AppEnv>().get(
      PATH,
      docs.messages,
      auth,
      validate("query", timePage),
      async (c) => {
        const { before, limit } = c.req.valid("query");
        const messages = await core.groups.historyByTime(
          Number(c.req.param("id")),
          c.get("principal").user.id,
          { beforeTime: before, limit },
        );
        return c.json({ results: await shapeMessages(messages) });
      },
    );
  }

  return new Hono<AppEnv>().get(PATH, docs.messages, auth, validate("query", idPage), async (c) => {
    const id = Number(c.req.param("id"));
    const userId = c.get("principal").user.id;
    const page = c.req.valid("query");
    if (page.before !== undefined || page.after !== undefined || page.limit !== undefined) {
      return c.json(await shapeMessages((await core.groups.history(id, userId, page)).messages));
    }
    // Without paging parameters: everything (up to HISTORY_MAX), streamed page by page.
    const history = await core.groups.historySnapshot(id, userId);
    const shaped = mapPages(history.pages, shapeMessages);
    return lists.respond(c, "meet_messages", shaped, historyHeaders(c.req.path, history));
  });
}
