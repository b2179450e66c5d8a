// The hub topics the desk namespace listens to: one subscription per topic that has sockets in
// its Socket.IO room (or is `all`), dropped with the last of them. A user's own topic lingers for
// the recovery window after their last socket dropped, so that a logout or a deactivation in the
// meantime still reaches the face, which then forgets the state kept for recovery.
import type { DomainEvent } from "@/lib/events.ts";
import { topic } from "@/lib/events.ts";
import type { Hub } from "@/realtime/hub.ts";
import type { Namespace } from "@/realtime/socketio/mod.ts";
import { createTopicBridge } from "@/realtime/topic_bridge.ts";

export function createDeskTopics(
  nsp: Namespace,
  hub: Hub,
  recoveryWindow: number,
  onEvent: (event: DomainEvent, topic: string) => void,
) {
  const lingering = new Map<string, ReturnType<typeof setTimeout>>();
  const bridge = createTopicBridge(hub, (event, name) => {
    // A topic whose sockets have all left since: nothing to render it for.
    if (!isListened(name)) return bridge.drop(name);
    onEvent(event, name);
  });
  bridge.ensure(topic.everyone);

  function isListened(name: string): boolean {
    return name === topic.everyone || nsp.adapter.rooms.has(name) || lingering.has(name);
  }

  function linger(name: string): void {
    clearTimeout(lingering.get(name));
    const timer = setTimeout(() => {
      lingering.delete(name);
      if (!nsp.adapter.rooms.has(name)) bridge.drop(name);
    }, recoveryWindow);
    Deno.unrefTimer(timer);
    lingering.set(name, timer);
  }

  return {
    ensure(topics: string[]): void {
      for (const name of topics) bridge.ensure(name);
    },
    drop: (name: string) => bridge.drop(name),
    /**
     * After a socket left `rooms`: topics nobody listens to any more are dropped, but `userTopic`
     * lingers when the socket may still be recovered.
     */
    left(rooms: string[], userTopic: string, recoverable: boolean): void {
      for (const name of rooms) {
        if (nsp.adapter.rooms.has(name)) continue;
        if (name === userTopic && recoverable && recoveryWindow > 0) linger(name);
        else bridge.drop(name);
      }
    },
    close(): void {
      for (const timer of lingering.values()) clearTimeout(timer);
      lingering.clear();
      bridge.close();
    },
  };
}

export type DeskTopics = ReturnType<typeof createDeskTopics>;
