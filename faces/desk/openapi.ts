// What the OpenAPI document says about the desk face's routes: summaries and response shapes
// (json.ts builds the bodies; these schemas describe them). Requests come from http.ts's zod.
import { z } from "zod";
import { FORBIDDEN, jsonResponse, NOT_FOUND, operation } from "@/routes/openapi.ts";

const doc = operation("desk");

const tokenPair = z.object({ access: z.string(), refresh: z.string() });
const person = z.object({
  id: z.number().int(),
  first_name: z.string(),
  last_name: z.string(),
  email: z.string(),
  image: z.string().describe("absolute URL"),
});
const room = z.object({
  id: z.number().int(),
  student: person.nullable(),
  teacher: person.nullable(),
  status: z.string().describe("waiting, active or closed"),
  timestamp: z.string().describe("ISO 8601"),
  text: z.string(),
  image: z.string(),
}).meta({ id: "DeskRoom" });
const message = z.object({
  id: z.number().int(),
  text: z.string(),
  image: z.string(),
  seen: z.boolean(),
  timestamp: z.string(),
  room: z.number().int(),
  user: z.number().int(),
});

const html = (description: string) => ({ description, content: { "text/html": {} } });
const redirect = (description: string) => ({
  description,
  headers: { Location: { description: "Where to go", schema: { type: "string" } } },
});

export const deskDocs = {
  token: doc({
    summary: "Sign in: an access and a refresh token (SimpleJWT)",
    responses: { 200: jsonResponse("The token pair", tokenPair) },
  }),
  rooms: doc({
    summary: "The rooms the user may see (a teacher: all open ones)",
    responses: { 200: jsonResponse("Rooms", z.array(room)) },
  }),
  openRoom: doc({
    summary: "Open a room (a student asks for help)",
    responses: { 201: jsonResponse("The new room", room), 403: FORBIDDEN },
  }),
  messages: doc({
    summary: "A room's messages, oldest first: everything (streamed), or a page by id",
    responses: {
      200: jsonResponse("Messages", z.array(message)),
      403: FORBIDDEN,
      404: NOT_FOUND,
    },
  }),
  chatPage: doc({
    summary: "The chat page (signed in) or a redirect to /login/",
    responses: { 200: html("The chat page"), 303: redirect("To /login/") },
  }),
  loginRedirect: doc({
    summary: "Redirect to /login/",
    responses: { 301: redirect("To /login/") },
  }),
  loginPage: doc({
    summary: "The sign-in form",
    responses: { 200: html("The form"), 303: redirect("Signed in already: to /") },
  }),
  login: doc({
    summary: "Sign in with the form; sets the session cookie",
    content: {
      "application/x-www-form-urlencoded": {
        schema: {
          type: "object",
          properties: { username: { type: "string" }, password: { type: "string" } },
          required: ["username", "password"],
        },
      },
    },
    responses: {
      303: redirect("Signed in: to /"),
      400: html("The form again, with what is missing"),
      401: html("The form again: wrong username or password"),
    },
  }),
  logoutRedirect: doc({
    summary: "Redirect to /logout/",
    responses: { 301: redirect("To /logout/") },
  }),
  logout: doc({
    summary: "Sign out: ends the session and clears the cookie",
    responses: { 303: redirect("To /login/") },
  }),
  staticFile: doc({
    summary: "The pages' script, style sheet and default avatar",
    responses: { 200: { description: "The file" }, 304: { description: "Not modified" } },
  }),
};

export { tokenPair };
