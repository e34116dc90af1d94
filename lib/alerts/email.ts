import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { formatAlertSubject, formatAlertText } from "./format";
import { DeliveryError, withTimeout } from "./http-post";
import { redactAlertError } from "./redact";
import type { AlertChannel, AlertEvent, AlertRouting } from "./types";

export interface EmailChannelOptions {
  /** SMTP_URL: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (TLS from the start). */
  smtpUrl: string;
  /** ALERT_EMAIL_FROM, e.g. "Crondeck <cron@example.com>". */
  from: string;
  /** ALERT_EMAIL_TO: app-wide recipients, added to each job's own. */
  to: string[];
  /** Connection, greeting and socket-idle timeouts, and the cap on the whole send. Default 3000. */
  timeoutMs?: number;
}

/** Splits "a@x.com, b@y.com" into addresses. */
export function parseAddressList(value: string | undefined | null): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** nodemailer options from an smtp:// or smtps:// URL; throws a message that says what the URL should look like. */
export function smtpOptionsFromUrl(smtpUrl: string, timeoutMs: number): SMTPTransport.Options {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new Error("SMTP_URL must look like smtp://user:password@smtp.example.com:587 or smtps://user:password@smtp.example.com:465");
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    throw new Error(`SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//`);
  }
  const secure = url.protocol === "smtps:";
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    auth: user ? { user, pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
  };
}

/**
 * E-mail over SMTP with nodemailer: one connection per alert (alerts are rare; a pool would
 * hold a socket open in a serverless function). Recipients are the app-wide list plus the job's.
 */
export class EmailChannel implements AlertChannel {
  readonly name = "email" as const;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];
  private readonly transportOptions: SMTPTransport.Options;

  constructor(private readonly options: EmailChannelOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.transportOptions = smtpOptionsFromUrl(options.smtpUrl, this.timeoutMs);
    const pass = decodeURIComponent(new URL(options.smtpUrl).password);
    this.secrets = [options.smtpUrl, ...(pass ? [pass] : [])];
  }

  recipients(routing: AlertRouting): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const address of [...this.options.to, ...routing.email]) {
      const key = address.toLowerCase();
      if (!seen.has(key)) {
        seen.add(key);
        out.push(address);
      }
    }
    return out;
  }

  appliesTo(routing: AlertRouting): boolean {
    return this.recipients(routing).length > 0;
  }

  async send(event: AlertEvent, routing: AlertRouting): Promise<void> {
    const transport = nodemailer.createTransport(this.transportOptions);
    const host = `${this.transportOptions.host}:${this.transportOptions.port}`;
    try {
      // The socket timeouts bound each step; this bounds the sum (a server that answers slowly at every step).
      await withTimeout(
        transport.sendMail({
          from: this.options.from,
          to: this.recipients(routing),
          subject: formatAlertSubject(event),
          text: formatAlertText(event),
        }),
        this.timeoutMs,
        `SMTP server ${host}: no answer within ${this.timeoutMs} ms`,
      );
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      const e = error as { code?: string; responseCode?: number; message?: string };
      const reason = redactAlertError(e.message ?? String(error), this.secrets);
      throw new DeliveryError(`SMTP server ${host}: ${e.responseCode ? `${e.responseCode} ` : ""}${reason}`);
    } finally {
      transport.close();
    }
  }
}
