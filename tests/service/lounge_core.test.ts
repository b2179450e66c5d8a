// The lounge's core parts as the service wires them from its configuration: SMTP_URL and
// MAIL_FROM reach the mailer, BOT_* choose and set up the bot, the secrets stay out of errors
// and logs.
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "@/lib/config.ts";
import type { LogFields, Logger } from "@/lib/log.ts";
import { createMailer } from "@/lib/mail.ts";
import { APOLOGY, BOT_USERNAME } from "@/lib/bot/chat.ts";
import { createOpenAiBot } from "@/lib/bot/openai.ts";
import { HELP_TEXT } from "@/lib/bot/builtin.ts";
import { Unavailable } from "@/lib/errors.ts";
import {
  closedPort,
  makeUser,
  openTestCore,
  PASSWORD,
  refusal,
  startLlmServer,
  startSmtpServer,
  startTestServer,
} from "../fixtures/mod.ts";

/** A logger that keeps every line as the JSON the real one would write. */
function keptLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string, fields?: LogFields) => {
    const error = fields?.error instanceof Error
      ? { name: fields.error.name, message: fields.error.message, stack: fields.error.stack }
      : fields?.error;
    lines.push(JSON.stringify({ level, msg, ...fields, error }));
  };
  return {
    lines,
    debug: keep("debug"),
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
  };
}

Deno.test("the mail, sign-up and bot settings have defaults", () => {
  const config = loadConfig({});
  assert.deepEqual(config.mail, { smtpUrl: undefined, from: "chat <no-reply@localhost>" });
  assert.deepEqual(config.signup, {
    tokenTtl: 86400,
    ratePerHour: 10,
    burst: 5,
    emailInterval: 60,
  });
  assert.deepEqual(config.bot, {
    apiUrl: undefined,
    apiKey: undefined,
    model: "gpt-4o-mini",
    timeout: 20,
    concurrency: 8,
  });
});

Deno.test("the mail, sign-up and bot settings are read and checked", () => {
  const config = loadConfig({
    SMTP_URL: "smtps://me:pw@mail.example.com:465",
    MAIL_FROM: "Lounge <hello@example.com>",
    SIGNUP_TOKEN_TTL: "2h",
    SIGNUP_EMAIL_INTERVAL: "0",
    BOT_API_URL: "http://localhost:11434/v1/",
    BOT_API_KEY: "sk-x",
    BOT_MODEL: "llama3",
    BOT_TIMEOUT: "45s",
  });
  assert.equal(config.mail.smtpUrl, "smtps://me:pw@mail.example.com:465");
  assert.equal(config.mail.from, "Lounge <hello@example.com>");
  assert.equal(config.signup.tokenTtl, 7200);
  assert.equal(config.signup.emailInterval, 0);
  assert.equal(config.bot.apiUrl, "http://localhost:11434/v1");
  assert.equal(config.bot.timeout, 45);
  for (
    const [variable, value] of [
      ["SMTP_URL", "http://mail.example.com"],
      ["BOT_API_URL", "not a url"],
      ["BOT_TIMEOUT", "0"],
      ["SIGNUP_RATE", "0"],
      ["BOT_CONCURRENCY", "many"],
    ]
  ) {
    assert.throws(() => loadConfig({ [variable]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      return true;
    });
  }
});

Deno.test("a bad SMTP_URL is not echoed (it holds the mail password)", () => {
  const err = (() => {
    try {
      loadConfig({ SMTP_URL: "ftp://user:hunter2@mail.example.com" });
    } catch (err) {
      return err as Error;
    }
  })();
  assert.ok(err instanceof ConfigError);
  assert.ok(!err.message.includes("hunter2"));
});

Deno.test("SMTP_URL and MAIL_FROM reach the mailer the service's sign-ups use", async () => {
  await using smtp = await startSmtpServer();
  await using srv = await startTestServer({
    SMTP_URL: smtp.url,
    MAIL_FROM: "Lounge <hello@lounge.test>",
  });
  await srv.core.signups.start(
    { email: "wired@example.com", password: PASSWORD, firstName: "W", lastName: "Ired" },
    (token) => `${srv.url}/http/register/${token}`,
  );
  const mail = await smtp.mailTo("wired@example.com");
  assert.match(mail.from, /hello@lounge\.test/);
  const token = /\/http\/register\/([\w-]+)/.exec(mail.text)![1];
  const user = await srv.core.signups.confirm(token);
  assert.equal(user.emailVerified, true);
});

Deno.test("BOT_API_URL, BOT_API_KEY and BOT_MODEL set up the OpenAI-compatible bot", async () => {
  await using llm = await startLlmServer();
  await using srv = await startTestServer({
    BOT_API_URL: llm.url,
    BOT_API_KEY: "sk-wired",
    BOT_MODEL: "wired-model",
  });
  const { user } = await makeUser(srv.core);
  const { bot } = await srv.core.botChat.send(user.id, "ping");
  assert.equal(bot.text, "Echo: ping");
  assert.equal(llm.requests[0].authorization, "Bearer sk-wired");
  assert.equal(llm.requests[0].body.model, "wired-model");
  assert.equal((await srv.core.botChat.botUser()).username, BOT_USERNAME);
});

Deno.test("without BOT_API_URL the built-in bot answers", async () => {
  await using srv = await startTestServer();
  const { user } = await makeUser(srv.core);
  assert.equal((await srv.core.botChat.send(user.id, "help")).bot.text, HELP_TEXT);
});

Deno.test("a failed mail or bot call is logged without the SMTP password or the API key", async () => {
  const log = keptLog();
  const mailer = createMailer({
    smtpUrl: `smtp://mailuser:smtp-pass-77@127.0.0.1:${closedPort()}`,
    from: "chat <a@chat.test>",
    log,
  });
  await using llm = await startLlmServer();
  llm.mode = "fail";
  const bot = createOpenAiBot({ apiUrl: llm.url, apiKey: "sk-key-77", model: "m" });
  await using t = await openTestCore({}, { mailer, bot, log });
  await refusal(
    t.core.signups.start(
      { email: "log@example.com", password: PASSWORD, firstName: "", lastName: "" },
      (token) => `http://x/${token}`,
    ),
    Unavailable,
  );
  const { user } = await makeUser(t.core);
  assert.equal((await t.core.botChat.send(user.id, "hi")).bot.text, APOLOGY);
  assert.ok(log.lines.some((l) => l.includes("confirmation mail not sent")));
  assert.ok(log.lines.some((l) => l.includes("bot did not answer") && l.includes("500")));
  for (const line of log.lines) {
    assert.ok(!line.includes("smtp-pass-77"), line);
    assert.ok(!line.includes("sk-key-77"), line);
  }
});
