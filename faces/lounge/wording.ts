// The lounge face's own words: its socket's error frames and its group activity lines. Errors of
// the core keep the shared DRF wording (routes/wording.ts).
import type { User } from "@/lib/records.ts";
import { displayName } from "@/routes/wording.ts";

export const WORDS = {
  malformed: "Frames must be JSON objects.",
  unknownChatType: 'Unknown chat_type: use "bot", "room" or "group".',
  notInitialised: 'Send {"token": <token>} first to initialise the socket.',
  otherUser: "This token belongs to another user than the one this socket was initialised for.",
  noBot: "The bot is not available on this server.",
  botBusy: "The bot is still answering your earlier messages. Try again shortly.",
  loggedOut: "Successfully logged out.",
  signupMailed: (email: string) =>
    `A confirmation link was sent to ${email}. Open it to create your account.`,
  signupDoneTitle: "Welcome!",
  signupDone: "Your account is ready. You can sign in now.",
  signupFailedTitle: "This link does not work",
} as const;

/** What the members of a group read when someone enters or leaves it. */
export function groupActivity(user: User | undefined, entered: boolean): string {
  const who = user ? displayName(user) : "Someone";
  return entered ? `${who} entered the group.` : `${who} left the group.`;
}
