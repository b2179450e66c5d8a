// Who a desk socket is: an access token in the handshake's `auth` (`access_token`, or `token`)
// or, for our own same-origin pages, the session cookie; when `auth.id` is given it must be the
// token's user. Recoveries come through here too and resume only a state of the login session
// presented now. What the face keeps about a socket is DeskData.
import type { Core } from "@/lib/core.ts";
import { AuthenticationError, ChatError } from "@/lib/errors.ts";
import type { User } from "@/lib/records.ts";
import { cookieValue, sameOrigin, SESSION_COOKIE } from "@/realtime/credentials.ts";
import type { Handshake, Middleware } from "@/realtime/socketio/mod.ts";
import { detailOf } from "@/routes/wording.ts";

export interface DeskData {
  user: User;
  sessionId: string;
  roomIds: number[];
  /** Where this client reaches us: the base of the absolute URLs it is sent. */
  base: string;
}

/** A socket's DeskData (set by the middleware below before any handler runs). */
export const deskData = (socket: { data: unknown }) => socket.data as DeskData;

const HOST = /^[\w.-]+(:\d{1,5})?$|^\[[\da-f:.]+\](:\d{1,5})?$/i;

/** The origin a client used, from its handshake; the default for a Host that is no host. */
function originOf(handshake: Handshake): string {
  const host = handshake.headers.host ?? "";
  if (!HOST.test(host)) return "http://localhost";
  return `${handshake.secure ? "https" : "http"}://${host.toLowerCase()}`;
}

/** A refusal as connect_error carries it: the DRF detail as its message. */
function worded(err: ChatError): Error {
  return new Error(detailOf(err));
}

function tokenOf(handshake: Handshake): string | undefined {
  const { auth, headers } = handshake;
  if (typeof auth.access_token === "string") return auth.access_token;
  if (typeof auth.token === "string") return auth.token;
  // The cookie only counts from our own pages: a cross-site page must not ride on it.
  if (sameOrigin(headers.origin, headers.host)) return cookieValue(headers.cookie, SESSION_COOKIE);
  return undefined;
}

/** The desk namespace's middleware. `publicUrl` (PUBLIC_URL) fixes every client's base. */
export function deskAuth(core: Core, publicUrl: string | undefined): Middleware {
  return async (socket, next) => {
    const kept = socket.recovered ? socket.data as Partial<DeskData> : undefined;
    const token = tokenOf(socket.handshake);
    if (!token) return next(worded(new AuthenticationError("not_authenticated")));
    try {
      const principal = await core.tokens.authenticate(token);
      const claimed = socket.handshake.auth.id;
      if (claimed !== undefined && String(claimed) !== String(principal.user.id)) {
        return next(new Error("The token does not belong to this user id."));
      }
      // Another login's state (a pid that leaked, or another device): a new connection instead.
      if (kept && kept.sessionId !== principal.sessionId) socket.startFresh();
      const data: DeskData = {
        user: principal.user,
        sessionId: principal.sessionId,
        roomIds: await core.desk.openRoomIds(principal.user.id),
        base: publicUrl ?? originOf(socket.handshake),
      };
      socket.data = data as unknown as Record<string, unknown>;
      next();
    } catch (err) {
      next(err instanceof ChatError ? worded(err) : new Error("A server error occurred."));
    }
  };
}
