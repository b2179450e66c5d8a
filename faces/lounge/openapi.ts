// What the OpenAPI document says about the lounge face's routes (http.ts, signup.ts). Lounge
// reads a request's fields from the query string or a JSON body (fields.ts), so the schemas
// that check them are shown as query parameters on GET and as a JSON body otherwise.
import { z } from "zod";
import { FORBIDDEN, jsonResponse, NOT_FOUND, operation } from "@/routes/openapi.ts";

const doc = operation("lounge");

const id = z.number().int();
const user = z.object({
  user_id: id,
  first_name: z.string(),
  last_name: z.string(),
  is_online: z.boolean(),
  is_camera: z.boolean(),
});
const profile = z.object({
  user_id: id,
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
}).meta({ id: "LoungeProfile" });
const group = z.object({
  chat_group_id: id,
  name: z.string(),
  owner_id: id.nullable(),
  is_member: z.boolean(),
}).meta({ id: "LoungeGroup" });
const roomMessage = z.object({
  user_id: id,
  chat_room_id: id,
  message: z.string(),
  timestamp: z.string(),
});
const groupMessage = z.object({
  user_id: id,
  chat_group_id: id,
  message: z.string(),
  timestamp: z.string(),
});
const botMessage = z.object({ is_user: z.boolean(), message: z.string(), timestamp: z.string() });
const notification = z.object({
  chat_type: z.enum(["room", "group", "bot"]),
  chat_room_id: id.optional(),
  chat_group_id: id.optional(),
  other_user_id: id.optional(),
  unread: z.number().int(),
});
const detail = z.object({ detail: z.string() });

/** The schemas http.ts and signup.ts check the fields with. */
export interface LoungeFieldSchemas {
  login: z.ZodType;
  registration: z.ZodType;
  profileChanges: z.ZodType;
  newGroup: z.ZodType;
  groupRename: z.ZodType;
  entering: z.ZodType;
  readMark: z.ZodType;
  pageFields: z.ZodType;
}

export function loungeDocs(s: Partial<LoungeFieldSchemas>) {
  return {
    register: doc({
      summary: "Sign up: mails a confirmation link",
      body: s.registration,
      responses: { 202: jsonResponse("Mailed", detail) },
    }),
    confirm: doc({
      summary: "Open the confirmation link: creates the account (HTML for browsers)",
      responses: {
        201: jsonResponse("The new account", profile),
        404: NOT_FOUND,
      },
    }),
    login: doc({
      summary: "Sign in by e-mail (GET with the query, or POST with a body)",
      body: s.login,
      responses: {
        200: jsonResponse("The token", z.object({ token: z.string(), user_id: id })),
      },
    }),
    logout: doc({
      summary: "Sign out: this session ends, its sockets close",
      responses: { 200: jsonResponse("Signed out", detail) },
    }),
    users: doc({
      summary: "Every person (not the bot), with who is online",
      responses: { 200: jsonResponse("People", z.array(user)) },
    }),
    profile: doc({
      summary: "The signed-in user's profile",
      responses: { 200: jsonResponse("The profile", profile) },
    }),
    updateProfile: doc({
      summary: "Change the name or the password (other sessions end)",
      body: s.profileChanges,
      responses: { 200: jsonResponse("The profile", profile) },
    }),
    groupMembers: doc({
      summary: "A group's members",
      responses: { 200: jsonResponse("People", z.array(user)), 404: NOT_FOUND },
    }),
    botChat: doc({
      summary: "The bot chat's messages around a time",
      query: s.pageFields,
      responses: { 200: jsonResponse("Messages", z.array(botMessage)) },
    }),
    rooms: doc({
      summary: "The user's rooms with people, with unread counts",
      responses: {
        200: jsonResponse(
          "Rooms",
          z.array(z.object({
            chat_room_id: id,
            other_user_id: id,
            last_activity: z.string(),
            unread: z.number().int(),
          })),
        ),
      },
    }),
    roomMessages: doc({
      summary: "A room's messages around a time",
      query: s.pageFields,
      responses: {
        200: jsonResponse("Messages", z.array(roomMessage)),
        403: FORBIDDEN,
        404: NOT_FOUND,
      },
    }),
    groups: doc({
      summary: "Every group, with whether the user is a member",
      responses: { 200: jsonResponse("Groups", z.array(group)) },
    }),
    createGroup: doc({
      summary: "Create a group (the creator is its owner and first member)",
      body: s.newGroup,
      responses: { 201: jsonResponse("The group", group) },
    }),
    renameGroup: doc({
      summary: "Rename a group (its owner only); the id in the path or as chat_group_id",
      body: s.groupRename,
      responses: { 200: jsonResponse("The group", group), 403: FORBIDDEN, 404: NOT_FOUND },
    }),
    groupMessages: doc({
      summary: "A group's messages around a time",
      query: s.pageFields,
      responses: {
        200: jsonResponse("Messages", z.array(groupMessage)),
        403: FORBIDDEN,
        404: NOT_FOUND,
      },
    }),
    enterGroup: doc({
      summary: "Enter (is_enter true) or leave a group",
      body: s.entering,
      responses: { 200: jsonResponse("The group", group), 404: NOT_FOUND },
    }),
    notifications: doc({
      summary: "Unread counts by conversation",
      responses: { 200: jsonResponse("Unread counts", z.array(notification)) },
    }),
    markRead: doc({
      summary: "Mark a conversation read",
      body: s.readMark,
      responses: {
        200: jsonResponse("Read", z.record(z.string(), z.union([z.number(), z.boolean()]))),
        404: NOT_FOUND,
      },
    }),
  };
}
