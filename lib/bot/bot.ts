// What answers in the lounge's bot chat: the built-in helper (builtin.ts) or an
// OpenAI-compatible API (openai.ts). chat.ts stores both sides and bounds the waiting.
import type { User } from "../records.ts";

/** One earlier message of the conversation, oldest first. */
export interface BotTurn {
  fromBot: boolean;
  text: string;
}

export interface Bot {
  /**
   * The answer to `text` from `user`, after `history` (bounded, oldest first, without `text`).
   * Rejects on any failure; should stop when `signal` aborts (the caller stops waiting then).
   */
  reply(
    input: { user: User; history: BotTurn[]; text: string; signal: AbortSignal },
  ): Promise<string>;
}
