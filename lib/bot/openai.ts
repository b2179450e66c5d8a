// A bot behind an OpenAI-compatible chat-completions API (OpenAI, a local llama.cpp or Ollama
// server, ...): POST {apiUrl}/chat/completions, answer = choices[0].message.content. The key
// goes into the Authorization header only: never into an error or a log line.
import { z } from "zod";
import type { Bot } from "./bot.ts";

export interface OpenAiBotOptions {
  /** The API base, e.g. https://api.openai.com/v1 (without /chat/completions). */
  apiUrl: string;
  apiKey?: string;
  model: string;
  /** The instructions sent first; a short default that names the service. */
  systemPrompt?: string;
  /** Largest response body read (bytes); a longer one is a failure. */
  maxResponseBytes?: number;
}

export const DEFAULT_SYSTEM_PROMPT =
  "You are the friendly helper bot of a community chat service. Answer briefly and plainly.";

const completionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().min(1) }) })).min(1),
});

/** A failure of the API, worded for the log: status or kind, never the key. */
export class BotApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BotApiError";
  }
}

/** The body as text, refusing past `max` bytes (a misbehaving server cannot fill memory). */
async function boundedText(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new BotApiError(`bot API response larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

export function createOpenAiBot(options: OpenAiBotOptions): Bot {
  const url = `${options.apiUrl.replace(/\/+$/, "")}/chat/completions`;
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  const system = options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT;

  return {
    async reply({ history, text, signal }) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      const messages = [
        { role: "system", content: system },
        ...history.map((turn) => ({
          role: turn.fromBot ? "assistant" : "user",
          content: turn.text,
        })),
        { role: "user", content: text },
      ];
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: options.model, messages }),
        signal,
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new BotApiError(`bot API answered ${res.status}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(await boundedText(res, maxBytes));
      } catch (err) {
        if (err instanceof BotApiError || signal.aborted) throw err;
        throw new BotApiError("bot API answered something that is not JSON");
      }
      const parsed = completionSchema.safeParse(body);
      if (!parsed.success) {
        throw new BotApiError("bot API answer has no choices[0].message.content");
      }
      return parsed.data.choices[0].message.content;
    },
  };
}
