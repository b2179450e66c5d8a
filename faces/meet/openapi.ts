// What the OpenAPI document says about the meet face's routes: summaries and response shapes
// (json.ts and http.ts build the bodies). Requests come from http.ts's zod schemas.
import { z } from "zod";
import { FORBIDDEN, jsonResponse, NOT_FOUND, operation } from "@/routes/openapi.ts";

const doc = operation("meet");

const user = z.object({ id: z.number().int(), email: z.string(), name: z.string() });
const profile = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
  date_joined: z.string(),
}).meta({ id: "MeetProfile" });
const room = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  description: z.string(),
  creator: user.nullable(),
  room_type: z.enum(["chat", "video"]),
  created_at: z.string(),
  is_active: z.boolean(),
}).meta({ id: "MeetRoom" });
const message = z.object({
  id: z.number().int(),
  user: user.nullable(),
  content: z.string(),
  created_at: z.string(),
});
const tokens = z.object({ access: z.string(), refresh: z.string() });

export const meetDocs = {
  register: doc({
    summary: "Create an account",
    responses: { 201: jsonResponse("The new profile", profile) },
  }),
  login: doc({
    summary: "Sign in by e-mail: an access and a refresh token",
    responses: { 200: jsonResponse("The token pair", tokens) },
  }),
  profile: doc({
    summary: "The signed-in user's profile",
    responses: { 200: jsonResponse("The profile", profile) },
  }),
  updateProfile: doc({
    summary: "Change the name",
    responses: { 200: jsonResponse("The profile", profile) },
  }),
  deleteProfile: doc({
    summary: "Deactivate the account (its personal data is removed)",
    responses: { 204: { description: "Deactivated" } },
  }),
  logout: doc({
    summary: "Sign out: ends this session (and blacklists the refresh token sent)",
    body: z.object({ refresh: z.string().optional() }),
    responses: {
      200: jsonResponse("Signed out", z.object({ message: z.string() })),
    },
  }),
  rooms: doc({
    summary: "Active rooms, filtered by type or a search in name and description",
    responses: { 200: jsonResponse("Rooms", z.array(room)) },
  }),
  createRoom: doc({
    summary: "Create a room",
    responses: { 201: jsonResponse("The new room", room) },
  }),
  room: doc({
    summary: "One room",
    responses: { 200: jsonResponse("The room", room), 404: NOT_FOUND },
  }),
  updateRoom: doc({
    summary: "Rename or describe a room (its creator only)",
    responses: { 200: jsonResponse("The room", room), 403: FORBIDDEN, 404: NOT_FOUND },
  }),
  deleteRoom: doc({
    summary: "Delete a room (its creator only); its sockets close",
    responses: { 204: { description: "Deleted" }, 403: FORBIDDEN, 404: NOT_FOUND },
  }),
  messages: doc({
    summary: 'A room\'s messages (MEET_MESSAGES_SHAPE: a bare array, or `{"results"}`)',
    responses: {
      200: jsonResponse(
        "Messages, oldest first",
        z.union([z.array(message), z.object({ results: z.array(message) })]),
      ),
      403: FORBIDDEN,
      404: NOT_FOUND,
    },
  }),
};
