import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface RecordedMail {
  /** The user the client logged in as. */
  user: string | undefined;
  /** The envelope: MAIL FROM and RCPT TO addresses. */
  from: string;
  to: string[];
  /** The message as it arrived (headers and body), unparsed. */
  raw: string;
}

export interface SmtpRecorder {
  port: number;
  /** smtp://user:pass@127.0.0.1:PORT with both parts percent-encoded. */
  url(user: string, pass: string): string;
  mails: RecordedMail[];
  close(): Promise<void>;
}

/**
 * A local SMTP server (smtp-server) that accepts any login without TLS and records each
 * message raw, for tests that check what an e-mail alert carries. With `password`, a login
 * with another password is refused, the server echoing it as some real servers do.
 */
export async function startSmtpRecorder(options: { password?: string } = {}): Promise<SmtpRecorder> {
  const mails: RecordedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    // smtp-server's self-signed certificate would fail nodemailer's STARTTLS verification.
    hideSTARTTLS: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.password && auth.password !== options.password) {
        return callback(new Error(`authentication failed for ${auth.username} with password ${auth.password}`));
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          user: session.user as string | undefined,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: (user, pass) => `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A raw message's text as a reader sees it: headers unfolded, encoded words and each part's
 * quoted-printable or base64 body decoded (a soft line break could split a value in two).
 */
export function decodeMail(raw: string): string {
  const unfolded = raw.replace(/\r\n(?=[ \t])/g, "");
  const words = unfolded.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _charset: string, kind: string, text: string) =>
    kind.toUpperCase() === "B" ? Buffer.from(text, "base64").toString("utf8") : decodeQuotedPrintable(text.replace(/_/g, " ")),
  );
  const parts: string[] = [words];
  // Each body after a blank line, decoded by the Content-Transfer-Encoding of the headers before it.
  const re = /content-transfer-encoding:\s*([\w-]+)[\s\S]*?\r\n\r\n([\s\S]*?)(?=\r\n--|$)/gi;
  for (const match of words.matchAll(re)) {
    const encoding = match[1].toLowerCase();
    if (encoding === "quoted-printable") parts.push(decodeQuotedPrintable(match[2]));
    else if (encoding === "base64") parts.push(Buffer.from(match[2].replace(/\s+/g, ""), "base64").toString("utf8"));
  }
  return parts.join("\n");
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
