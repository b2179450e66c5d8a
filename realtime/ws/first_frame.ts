// The time before a socket is initialised by its first frame (lounge's `{"token": ...}`): the
// upgrade is accepted without credentials, and nothing but the face's answer to a failed init is
// sent until a frame names who is there. Until then the socket is in no registry, counts in no
// presence and hears no hub event. It stays checked and bounded: the same frame size limit, one
// init at a time (frames that arrive meanwhile wait, a few at most), a few failed inits, and a
// deadline; past any of these it is closed.
import type { z } from "zod";
import type { Principal } from "@/lib/records.ts";
import { CLOSE } from "./close_codes.ts";
import { byteLength, type ConnectionLimits, type Refusal } from "./connection.ts";

export interface Initialised<D> {
  principal: Principal;
  data: D;
  /** Hub topics it listens to at first (its user topic is added). */
  topics: string[];
}

export interface FirstFrameSpec<I, D> {
  /** What an init frame must look like. */
  schema: z.ZodType<I>;
  /** Who the frame names, and what the connection starts with; throws to refuse it. */
  init(frame: I): Promise<Initialised<D>>;
  /** Milliseconds a socket may stay uninitialised; then it is closed (4401). */
  timeoutMs: number;
  /** Failed inits a socket may make; the last one closes it (4401). */
  maxAttempts: number;
}

export interface FirstFrameHooks<D> {
  /** The face's answer to a failed init, or undefined for none. */
  refuse(refusal: Refusal): string | undefined;
  /** Initialised: `backlog` holds the frames that arrived after the init frame, in order. */
  ready(result: Initialised<D>, backlog: unknown[]): void;
}

/** Waits for `ws`'s init frame (see the file comment). */
export function awaitFirstFrame<I, D>(
  ws: WebSocket,
  limits: ConnectionLimits,
  spec: FirstFrameSpec<I, D>,
  hooks: FirstFrameHooks<D>,
): void {
  ws.binaryType = "arraybuffer";
  const waiting: unknown[] = [];
  let busy = false;
  let finished = false;
  let failures = 0;

  const timer = setTimeout(() => close(CLOSE.signedOut, "not initialised in time"), spec.timeoutMs);

  function close(code: number, reason: string) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      ws.close(code, reason);
    }
  }

  function answer(refusal: Refusal) {
    failures++;
    const frame = hooks.refuse(refusal);
    if (frame !== undefined && ws.readyState === WebSocket.OPEN) ws.send(frame);
    if (failures >= spec.maxAttempts) close(CLOSE.signedOut, "not initialised");
  }

  /** Tries one frame as the init frame; frames that arrive meanwhile wait in `waiting`. */
  function attempt(data: unknown) {
    if (finished) return;
    if (typeof data !== "string") return answer({ reason: "malformed" });
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return answer({ reason: "malformed" });
    }
    let checked;
    try {
      checked = spec.schema.safeParse(parsed);
    } catch (error) {
      return answer({ reason: "refused", error });
    }
    if (!checked.success) return answer({ reason: "invalid", issues: checked.error.issues });
    busy = true;
    spec.init(checked.data).then((result) => {
      busy = false;
      if (finished || ws.readyState !== WebSocket.OPEN) return;
      finished = true;
      clearTimeout(timer);
      hooks.ready(result, waiting.splice(0));
    }, (error) => {
      busy = false;
      answer({ reason: "refused", error });
      // The frames that waited were sent before the client heard of the failure: each is
      // another try at the init frame, in order.
      while (!busy && !finished && waiting.length > 0) attempt(waiting.shift());
    });
  }

  ws.onmessage = (event) => {
    if (finished) return;
    const data = event.data;
    if (typeof data !== "string" && !(data instanceof ArrayBuffer)) return;
    if (byteLength(data, limits.maxFrameBytes) > limits.maxFrameBytes) {
      return close(CLOSE.tooBig, "message too big");
    }
    if (!busy) return attempt(data);
    if (waiting.length >= limits.inbound.maxQueued) {
      return close(CLOSE.policy, "too many frames before init");
    }
    waiting.push(data);
  };
  ws.onclose = () => {
    finished = true;
    clearTimeout(timer);
  };
  ws.onerror = () => {
    finished = true;
    clearTimeout(timer);
  };
}
