// The AsyncAPI 3 document of the realtime endpoints, generated from the zod schemas of their
// frames (z.toJSONSchema): each face declares its channels (faces/<face>/frames.ts) with the
// schemas its socket checks what clients send against, and schemas of what it sends.
import { z } from "zod";

export interface FrameDoc {
  schema: z.ZodType;
  summary: string;
  /** Socket.IO: the acknowledgement's payload, when the event takes a callback. */
  ack?: z.ZodType;
}

export interface RealtimeChannel {
  /** Key in the document: letters only (`meetChat`). */
  id: string;
  face: string;
  /** The URL path clients connect to, with `{param}`s. */
  address: string;
  transport: "websocket" | "socket.io";
  title: string;
  description: string;
  parameters?: Record<string, string>;
  /** What clients send (the server receives), by message name. */
  receive: Record<string, FrameDoc>;
  /** What the server sends, by message name. */
  send: Record<string, FrameDoc>;
}

const SCHEMA_FORMAT = "application/schema+json;version=draft-07";

/** A zod schema as draft-07 JSON Schema: what a client sends (input) or gets (output). */
export function frameSchema(schema: z.ZodType, io: "input" | "output") {
  const json = z.toJSONSchema(schema, { target: "draft-07", io, unrepresentable: "any" });
  delete (json as { $schema?: string }).$schema;
  return json;
}

export interface AsyncApiOptions {
  /** The public base URL (PUBLIC_URL); `localhost:8000` is shown when unset. */
  publicUrl?: string;
  tags: readonly { name: string; description: string }[];
}

/** Builds the document (plain JSON, ready to serve). */
export function asyncApiDocument(channels: readonly RealtimeChannel[], options: AsyncApiOptions) {
  const base = new URL(options.publicUrl ?? "http://localhost:8000");
  const secure = base.protocol === "https:";
  const servers = {
    websocket: {
      host: base.host,
      protocol: secure ? "wss" : "ws",
      description: "Raw WebSockets (meet, inbox, lounge) and Socket.IO's WebSocket transport",
      security: [{ $ref: "#/components/securitySchemes/token" }],
    },
  };
  const doc = {
    asyncapi: "3.0.0",
    info: {
      title: "chat: realtime endpoints",
      version: "1.0.0",
      description: "Every frame each face's sockets take and send. Frames are JSON text. " +
        "The REST routes are in [/openapi.json](/openapi.json).",
      tags: options.tags.map((t) => ({ ...t })),
    },
    defaultContentType: "application/json",
    servers,
    channels: {} as Record<string, unknown>,
    operations: {} as Record<string, unknown>,
    components: {
      messages: {} as Record<string, unknown>,
      securitySchemes: {
        token: {
          type: "httpApiKey",
          in: "query",
          name: "token",
          description: "An access token: `Authorization` (Bearer/JWT/Token/bare) or " +
            "`authentication` header, `?token=`, a subprotocol, or desk's session cookie; " +
            "lounge's socket takes it in its first frame instead.",
        },
      },
    },
  };
  for (const channel of channels) {
    const messages: Record<string, unknown> = {};
    const add = (direction: "receive" | "send", name: string, frame: FrameDoc) => {
      const key = `${channel.id}.${direction}.${name}`.replace(/[^\w.-]/g, "_");
      doc.components.messages[key] = {
        name,
        title: name,
        summary: frame.summary,
        payload: {
          schemaFormat: SCHEMA_FORMAT,
          schema: frameSchema(frame.schema, direction === "receive" ? "input" : "output"),
        },
        ...(frame.ack
          ? { "x-ack": { schemaFormat: SCHEMA_FORMAT, schema: frameSchema(frame.ack, "output") } }
          : {}),
      };
      const messageKey = `${direction}_${name}`.replace(/[^\w.-]/g, "_");
      messages[messageKey] = { $ref: `#/components/messages/${key}` };
      doc.operations[`${channel.id}_${messageKey}`] = {
        action: direction,
        channel: { $ref: `#/channels/${channel.id}` },
        summary: frame.summary,
        tags: [{ name: channel.face }],
        messages: [{ $ref: `#/channels/${channel.id}/messages/${messageKey}` }],
      };
    };
    for (const [name, frame] of Object.entries(channel.receive)) add("receive", name, frame);
    for (const [name, frame] of Object.entries(channel.send)) add("send", name, frame);
    doc.channels[channel.id] = {
      address: channel.address,
      title: channel.title,
      description: channel.description,
      tags: [{ name: channel.face }],
      ...(channel.parameters
        ? {
          parameters: Object.fromEntries(
            Object.entries(channel.parameters).map(([k, description]) => [k, { description }]),
          ),
        }
        : {}),
      messages,
      "x-transport": channel.transport,
    };
  }
  return doc;
}
