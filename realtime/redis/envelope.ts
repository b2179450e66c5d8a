// How a hub event travels through Redis: one text message `<node id>\n<topic>\n<event JSON>`.
// The two short lines in front let a receiving node drop its own echo and skip topics nobody on
// it listens to without parsing the JSON. The JSON of an event is made once, however many topics
// it is published to (presence goes to `all` and to the user's topic).
import type { DomainEvent } from "@/lib/events.ts";

const bodies = new WeakMap<DomainEvent, string>();

/** The event's JSON, made once per event object. */
function bodyOf(event: DomainEvent): string {
  let body = bodies.get(event);
  if (body === undefined) {
    body = JSON.stringify(event);
    bodies.set(event, body);
  }
  return body;
}

export function encodeEnvelope(nodeId: string, topic: string, event: DomainEvent): string {
  return `${nodeId}\n${topic}\n${bodyOf(event)}`;
}

export interface EnvelopeHead {
  nodeId: string;
  topic: string;
  /** Where the event's JSON starts. */
  bodyAt: number;
}

/** The two lines in front, or undefined for a message that is not an envelope. */
export function readHead(message: string): EnvelopeHead | undefined {
  const first = message.indexOf("\n");
  if (first <= 0) return undefined;
  const second = message.indexOf("\n", first + 1);
  if (second <= first + 1) return undefined;
  return {
    nodeId: message.slice(0, first),
    topic: message.slice(first + 1, second),
    bodyAt: second + 1,
  };
}

/** The event; throws on JSON that is not an object with a string `type`. */
export function readBody(message: string, head: EnvelopeHead): DomainEvent {
  const event = JSON.parse(message.slice(head.bodyAt));
  if (typeof event !== "object" || event === null || typeof event.type !== "string") {
    throw new TypeError("not a domain event");
  }
  return event as DomainEvent;
}

/**
 * Where `value` would not survive JSON unchanged (a Map, a Date, a bigint, NaN, a class
 * instance...), as paths; empty when it is JSON-safe. Properties holding `undefined` are fine:
 * they arrive absent, which every reader treats alike. For tests of the events the core makes.
 */
export function jsonUnsafePaths(value: unknown, path = "$"): string[] {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return [];
    case "number":
      return Number.isFinite(value) ? [] : [path];
    case "object": {
      if (value === null) return [];
      if (Array.isArray(value)) {
        return value.flatMap((v, i) =>
          v === undefined ? [`${path}[${i}]`] : jsonUnsafePaths(v, `${path}[${i}]`)
        );
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return [path];
      return Object.entries(value).flatMap(([k, v]) => jsonUnsafePaths(v, `${path}.${k}`));
    }
    default:
      return [path];
  }
}
