// Outgoing mail: through an SMTP server (nodemailer) when SMTP_URL is set, otherwise one JSON
// line in the log, so that a development start without a mail server still shows the links.
// The SMTP URL carries credentials: it is never logged, and neither are nodemailer's options.
import nodemailer from "nodemailer";
import type { Logger } from "./log.ts";

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  /** Resolves once the server accepted the mail; rejects when it did not. */
  send(mail: Mail): Promise<void>;
}

export interface MailerOptions {
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://...` (TLS at once). */
  smtpUrl?: string;
  /** The From header, e.g. `chat <no-reply@localhost>`. */
  from: string;
  log: Logger;
  /** Longest wait for each step of the SMTP conversation (ms). */
  timeoutMs?: number;
}

/** The transport settings an SMTP URL names; throws on a URL that is not smtp(s)://. */
export function smtpOptions(smtpUrl: string, timeoutMs = 10_000) {
  const url = new URL(smtpUrl);
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    throw new Error("SMTP_URL must start with smtp:// or smtps://");
  }
  const secure = url.protocol === "smtps:";
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    auth: user ? { user, pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 2,
  };
}

export function createMailer(options: MailerOptions): Mailer {
  const { from, log } = options;
  if (!options.smtpUrl) {
    return {
      send(mail) {
        log.info("mail (no SMTP_URL: written to the log)", { mail: { from, ...mail } });
        return Promise.resolve();
      },
    };
  }
  const transport = nodemailer.createTransport(smtpOptions(options.smtpUrl, options.timeoutMs));
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
    },
  };
}
