// What the OpenAPI document says about the inbox face's routes (http.ts, uploads.ts):
// summaries and response shapes. Requests come from the routes' zod schemas.
import { z } from "zod";
import { FORBIDDEN, jsonResponse, NOT_FOUND, operation } from "@/routes/openapi.ts";

const doc = operation("inbox");

const user = z.object({
  url: z.string(),
  username: z.string(),
  email: z.string(),
  groups: z.array(z.string()),
  is_active: z.boolean(),
}).meta({ id: "InboxUser" });
const message = z.object({
  id: z.number().int(),
  from_user: user.nullable(),
  to_user: user.nullable(),
  date_added: z.string(),
  content: z.string(),
  multimedia_url: z.string().optional(),
}).meta({ id: "InboxMessage" });
const conversation = z.object({
  id: z.number().int(),
  name: z.string(),
  other_user: user.nullable(),
  last_message: message.nullable(),
});
const located = z.object({
  file_location: z.string(),
  expiration_time: z.string().nullable(),
});
const fileError = z.object({ myFile: z.array(z.string()) });

export const inboxDocs = {
  conversations: doc({
    summary: "The user's conversations, most recent first (all, or a page with a Link header)",
    responses: { 200: jsonResponse("Conversations", z.array(conversation)) },
  }),
  messages: doc({
    summary: "The conversation with a user: everything (streamed), or a page by id",
    responses: {
      200: jsonResponse("Messages, oldest first", z.object({ messages: z.array(message) })),
      404: NOT_FOUND,
    },
  }),
  user: doc({
    summary: "A user, as the payloads' `url` fields link to",
    responses: { 200: jsonResponse("The user", user), 404: NOT_FOUND },
  }),
  upload: doc({
    summary: "Upload an attachment (multipart, field `myFile`); send it in a chat_message frame",
    description: "A token is required unless UPLOAD_ALLOW_ANONYMOUS is on.",
    content: {
      "multipart/form-data": {
        schema: {
          type: "object",
          properties: { myFile: { type: "string", format: "binary" } },
          required: ["myFile"],
        },
      },
    },
    responses: {
      200: jsonResponse(
        "Stored",
        located.extend({ file_identifier: z.string() }),
      ),
      400: jsonResponse("No file, or an empty one", fileError),
      401: jsonResponse("A token that is not valid", z.object({ detail: z.string() })),
      413: jsonResponse("Larger than UPLOAD_MAX_BYTES", z.object({ detail: z.string() })),
    },
  }),
  checkUrl: doc({
    summary: "Whether a message's attachment URL needs refreshing",
    responses: {
      200: jsonResponse("Whether to refresh", z.object({ refresh_url: z.boolean() })),
      403: FORBIDDEN,
      404: NOT_FOUND,
    },
  }),
  refreshUrl: doc({
    summary: "A fresh URL for a message's attachment",
    responses: { 200: jsonResponse("The URL", located), 403: FORBIDDEN, 404: NOT_FOUND },
  }),
  file: doc({
    summary: "A stored attachment (local storage); the key is unguessable, no token needed",
    responses: { 200: { description: "The file" }, 404: NOT_FOUND },
  }),
};
