// Our broadcasts with acks, as the other nodes answer them: first how many of their sockets got
// it (BROADCAST_CLIENT_COUNT), then each socket's ack (BROADCAST_ACK). Nothing says when the last
// ack is in, so each broadcast is forgotten after its timeout: the map stays bounded.
import { RequestType } from "./wire.ts";

interface Waiting {
  onCount: (clients: number) => void;
  onAck: (arg: unknown) => void;
}

export class AckRelay {
  readonly #waiting = new Map<string, Waiting>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /** A new request id whose answers go to the callbacks until `timeout` (ms). */
  track(timeout: number, onCount: Waiting["onCount"], onAck: Waiting["onAck"]): string {
    const requestId = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    this.#waiting.set(requestId, { onCount, onAck });
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#waiting.delete(requestId);
    }, timeout);
    this.#timers.add(timer);
    return requestId;
  }

  /** A response about one of our broadcasts; false when it is about something else. */
  answer(response: Record<string, unknown>): boolean {
    const waiting = this.#waiting.get(String(response.requestId));
    if (!waiting) return false;
    if (response.type === RequestType.BROADCAST_CLIENT_COUNT) {
      waiting.onCount(Number(response.clientCount ?? 0));
    } else if (response.type === RequestType.BROADCAST_ACK) {
      waiting.onAck(response.packet);
    }
    return true;
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#waiting.clear();
  }
}
