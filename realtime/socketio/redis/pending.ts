// Requests waiting for the other nodes' responses: each knows how many nodes should answer,
// gathers their answers, and settles when all did or the timeout passed. Bounded: a request
// lives at most the timeout.

type Kind = "fetchSockets" | "allRooms" | "serverSideEmit";

/** Which field of a response carries the answer, and whether it is a list to merge. */
const FIELDS: Record<Kind, { field: string; list: boolean }> = {
  fetchSockets: { field: "sockets", list: true },
  allRooms: { field: "rooms", list: true },
  serverSideEmit: { field: "data", list: false },
};

interface Request {
  kind: Kind;
  expected: number;
  answers: number;
  items: unknown[];
  resolve(items: unknown[]): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A timeout that still hands over what arrived (serverSideEmit acks get partial responses). */
export class RequestTimeout extends Error {
  constructor(kind: Kind, readonly responses: unknown[], expected: number) {
    super(
      kind === "serverSideEmit"
        ? `timeout reached: only ${responses.length} responses received out of ${expected}`
        : `timeout reached while waiting for ${kind} response`,
    );
  }
}

export class Pending {
  readonly #requests = new Map<string, Request>();

  constructor(readonly timeout: number) {}

  /** A new request id, and the answers of `expected` nodes once they are all in. */
  collect<T>(expected: number, kind: Kind): { id: string; done: Promise<T[]> } {
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    const done = new Promise<T[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        const request = this.#requests.get(id);
        this.#requests.delete(id);
        if (request) reject(new RequestTimeout(kind, request.items, expected));
      }, this.timeout);
      this.#requests.set(id, {
        kind,
        expected,
        answers: 0,
        items: [],
        resolve: resolve as (items: unknown[]) => void,
        reject,
        timer,
      });
    });
    return { id, done };
  }

  /** A response from another node; ignored unless it answers one of ours. */
  answer(response: Record<string, unknown>): void {
    const id = response.requestId;
    if (typeof id !== "string") return;
    const request = this.#requests.get(id);
    if (!request) return;
    const { field, list } = FIELDS[request.kind];
    const value = response[field];
    if (list) {
      if (!Array.isArray(value)) return;
      request.items.push(...value);
    } else {
      request.items.push(value);
    }
    if (++request.answers < request.expected) return;
    clearTimeout(request.timer);
    this.#requests.delete(id);
    request.resolve(request.items);
  }

  close(): void {
    for (const request of this.#requests.values()) {
      clearTimeout(request.timer);
      request.reject(new Error("adapter closed"));
    }
    this.#requests.clear();
  }
}
