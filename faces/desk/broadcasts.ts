// What the core publishes, as desk clients hear it: each hub event rendered once and sent to the
// Socket.IO room named after its topic (`room:42`, `user:7`, `role:teacher`). Payloads with
// absolute URLs are rendered once per base URL among their recipients: PUBLIC_URL, or the
// origin each client itself connected to (never another client's).
import type { Core } from "@/lib/core.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { User } from "@/lib/records.ts";
import type { Namespace, Socket } from "@/realtime/socketio/mod.ts";
import { absoluteImage, deskMessageEvent, deskRoom } from "./json.ts";
import { type DeskData, deskData } from "./socket_auth.ts";
import type { DeskTopics } from "./socket_topics.ts";

/** The Socket.IO room of the clients that reach us at `base`. */
export const baseRoom = (base: string) => `base:${base}`;

export interface DeskBroadcastOptions {
  nsp: Namespace;
  core: Core;
  log: Logger;
  topics: DeskTopics;
  publicUrl?: string;
}

/** The people a room names, by id, for deskRoom(). */
export function peopleMap(...people: (User | null)[]): Map<number, User> {
  return new Map(people.filter((u) => u !== null).map((u) => [u.id, u]));
}

export function deskBroadcasts({ nsp, core, log, topics, publicUrl }: DeskBroadcastOptions) {
  function socketsIn(room: string): Socket[] {
    const ids = nsp.adapter.rooms.get(room) ?? [];
    return [...ids].map((id) => nsp.sockets.get(id)).filter((s) => s !== undefined);
  }

  /**
   * Emits an event whose payload holds absolute URLs: rendered once per base URL among the
   * sockets in `rooms` (one, with PUBLIC_URL), each rendering sent only to its own clients.
   */
  function emitPerBase(
    rooms: string[],
    except: string[],
    event: string,
    shape: (base: string) => unknown,
  ): void {
    if (publicUrl) return void nsp.to(rooms).except(except).emit(event, shape(publicUrl));
    const bases = new Set<string>();
    for (const room of rooms) {
      for (const socket of socketsIn(room)) bases.add(deskData(socket).base);
    }
    for (const base of bases) {
      const others = [...bases].filter((b) => b !== base).map(baseRoom);
      nsp.to(rooms).except([...except, ...others]).emit(event, shape(base));
    }
  }

  /** Forgets the states kept for recovery that `match` picks: they can never be resumed. */
  function forgetKept(match: (data: DeskData) => boolean): void {
    // A shared store (Redis) answers later; a failure only means the state expires by itself.
    Promise.resolve(nsp.adapter.dropSessions((state) => {
      const data = state.data as Partial<DeskData> | undefined;
      return data?.user !== undefined && match(data as DeskData);
    })).catch((error) => log.error("desk recovery purge failed", { error }));
  }

  function announcePresence(userId: number, online: boolean): void {
    core.desk.openRoomIds(userId).then((ids) => {
      const rooms = ids.map(topic.room).filter((t) => nsp.adapter.rooms.has(t));
      if (rooms.length > 0) nsp.to(rooms).emit(online ? "online" : "offline", { user: userId });
    }).catch((error) => log.error("desk presence failed", { error }));
  }

  return function render(event: DomainEvent, name: string): void {
    switch (event.type) {
      case "message.created":
        nsp.to(name).emit("message", deskMessageEvent(event.message));
        break;
      case "read.updated":
        if (name === topic.room(event.roomId)) {
          nsp.to(name).emit("seen", { room: event.roomId, user: event.userId });
        }
        break;
      case "room.status": {
        const { room, teacher } = event;
        const inRoom = name === topic.room(room.id);
        // Sent to the room and to the teacher's user room; the latter skips sockets that
        // are in the room already, so nobody gets two copies.
        const except = inRoom ? [] : [topic.room(room.id)];
        if (room.status === "engaged" && teacher) {
          emitPerBase([name], except, "room_joined", (base) => ({
            room: room.id,
            teacher: {
              id: teacher.id,
              first_name: teacher.firstName,
              last_name: teacher.lastName,
              image: absoluteImage(teacher.image, base),
            },
            status: room.status,
          }));
          if (name === topic.user(teacher.id)) {
            // Every tab of the teacher takes the room, on every node (the one that handled
            // join_room also joins its own tabs; this reaches the tabs on other nodes).
            nsp.in(name).socketsJoin(topic.room(room.id));
            topics.ensure([topic.room(room.id)]);
          }
        } else if (room.status === "closed" && inRoom) {
          nsp.to(name).emit("room_closed", { status: room.status, room: room.id });
          nsp.in(name).socketsLeave(name);
          topics.drop(name);
        }
        break;
      }
      case "room.created": {
        // A student's new help room: every tab of theirs, on every node, is in it from now on
        // (the tab that opened it over REST may be on another node than the others).
        const { room } = event;
        if (
          room.kind === "desk" && room.createdBy !== null && name === topic.user(room.createdBy)
        ) {
          nsp.in(name).socketsJoin(topic.room(room.id));
          topics.ensure([topic.room(room.id)]);
        }
        break;
      }
      case "room.announced": {
        const people = peopleMap(event.student, event.teacher);
        emitPerBase([name], [], "new_room", (base) => deskRoom(event.room, people, base));
        break;
      }
      case "session.revoked":
        forgetKept((data) => data.sessionId === event.sessionId);
        for (const socket of socketsIn(topic.user(event.userId))) {
          if (deskData(socket).sessionId === event.sessionId) socket.disconnect(true);
        }
        break;
      case "user.deactivated":
        forgetKept((data) => data.user.id === event.userId);
        nsp.in(name).disconnectSockets(true);
        break;
      case "presence.changed":
        if (name === topic.everyone) announcePresence(event.userId, event.online);
        break;
    }
  };
}
