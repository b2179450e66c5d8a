// The live face's JSON shapes (specs/live.md): rooms and messages keyed by id, `activity` in
// epoch seconds, users with their profile extras.
import type { DirectView } from "@/lib/conversations.ts";
import type { User } from "@/lib/records.ts";
import { iso } from "@/routes/json.ts";

/**
 * A user as live's contact lists show one. The original also sent every user's API token here;
 * a token is never anyone else's business, so it is left out.
 */
export function liveUser(user: User, online: boolean) {
  return {
    id: user.id,
    account: user.balance,
    language: user.language,
    gender: user.gender,
    username: user.username,
    email: user.email ?? "",
    groups: [] as string[],
    is_superuser: user.role === "admin",
    main_photo: user.image,
    middle_photo: user.image,
    is_online: online,
    is_camera: user.cameraOn,
  };
}

/** A room as its viewer sees it, with its newest messages keyed by id. */
export function liveRoom(view: DirectView) {
  const messages: Record<number, unknown> = {};
  for (const m of view.messages) {
    messages[m.id] = {
      id: m.id,
      message: m.text,
      author_id: m.authorId,
      created: iso(m.createdAt),
      is_readed: m.read,
    };
  }
  return {
    abonent_id: view.otherId,
    id: view.room.id,
    is_current: view.current,
    is_active: view.active,
    // Accounts and payments are not this service's: a room never closes for a low balance.
    is_low_account: false,
    activity: view.room.lastActivityAt / 1000,
    messages,
  };
}

/** GET /room/list and GET /room/select/{id}: the viewer's rooms and the people in them. */
export function liveRoomList(
  viewer: User,
  views: DirectView[],
  people: Map<number, User>,
  onlineIds: number[],
) {
  const online = new Set(onlineIds);
  const contactIds = [...new Set([...views.map((v) => v.otherId), viewer.id])];
  const contactUsers: Record<number, unknown> = {};
  for (const id of contactIds) {
    const user = people.get(id);
    if (user) contactUsers[id] = liveUser(user, online.has(id));
  }
  const rooms: Record<number, unknown> = {};
  for (const view of views) rooms[view.room.id] = liveRoom(view);
  return {
    contact_users: contactUsers,
    contacts_ids: contactIds,
    current_room: views.find((v) => v.current)?.room.id ?? null,
    online_ids: onlineIds,
    room_ids: views.map((v) => v.room.id),
    rooms,
  };
}
