// Signals: short-lived messages between the connections of a room that are never stored (WebRTC
// offers, answers, ICE candidates, hang-ups). They travel as hub events like everything else, so
// that they reach the room's connections on every node.
import { type EventSink, topic } from "./events.ts";

export interface Signal {
  roomId: number;
  /** Who sent it, as authenticated; never taken from the payload. */
  fromUserId: number;
  /** The sending connection, so that it does not hear its own signal. */
  fromConnection: string;
  /** Only this user's connections receive it, when set. */
  targetUserId?: number;
  /** The signal as the face received it; relayed as it is. */
  payload: Record<string, unknown>;
}

export function createSignals(events: EventSink) {
  return {
    /**
     * Relays a signal to the room. The caller's connection was admitted to the room when it
     * opened and is closed when the room, the session or the account goes, so nothing is read.
     */
    relay(signal: Signal): void {
      events.publish(topic.room(signal.roomId), { type: "signal.relayed", signal });
    },
  };
}

export type Signals = ReturnType<typeof createSignals>;
