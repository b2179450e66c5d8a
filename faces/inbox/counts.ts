// Unread counts for the inbox's notification sockets, recomputed from read pointers (nothing is
// counted twice) whenever something changed. One recount per user at a time: changes that arrive
// while one runs mark the user dirty and cause exactly one more, so a burst of messages costs a
// few queries, never one per message, and the last count sent is always the newest.
import type { Core } from "@/lib/core.ts";
import type { Logger } from "@/lib/log.ts";

/** A notification socket as the counter sees it. */
export interface CountTarget {
  /** The conversation it counts (/ws/notifications/{username}/), or every room when absent. */
  roomId?: number;
  /** Sends the count, unless this socket was already shown that number. */
  show(count: number): void;
}

export function createUnreadCounts(
  core: Core,
  targetsOf: (userId: number) => CountTarget[],
  log: Logger,
) {
  const running = new Set<number>();
  const dirty = new Set<number>();

  /** The count one socket shows when it opens. */
  async function first(userId: number, target: CountTarget): Promise<void> {
    target.show(
      target.roomId === undefined
        ? await core.messages.unreadTotal(userId)
        : await core.messages.unreadCount(target.roomId, userId),
    );
  }

  async function recount(userId: number): Promise<void> {
    const targets = targetsOf(userId);
    if (targets.length === 0) return;
    const byRoom = await core.messages.unreadByRoom(userId);
    let total = 0;
    for (const n of byRoom.values()) total += n;
    for (const target of targetsOf(userId)) {
      target.show(target.roomId === undefined ? total : byRoom.get(target.roomId) ?? 0);
    }
  }

  /** Sends the user's notification sockets fresh counts, soon. */
  function schedule(userId: number): void {
    if (running.has(userId)) {
      dirty.add(userId);
      return;
    }
    running.add(userId);
    (async () => {
      do {
        dirty.delete(userId);
        try {
          await recount(userId);
        } catch (error) {
          log.error("unread recount failed", { face: "inbox", user_id: userId, error });
        }
      } while (dirty.has(userId));
      running.delete(userId);
    })();
  }

  return { first, schedule };
}
