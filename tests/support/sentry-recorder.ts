import { startRecordingServer, type RecordedRequest, type RecordingServer } from "./recording-server";

/** One item of a Sentry envelope: its header (type, length...) and its parsed payload. */
export interface EnvelopeItem {
  type: string;
  header: Record<string, unknown>;
  payload: unknown;
}

export interface Envelope {
  header: Record<string, unknown>;
  items: EnvelopeItem[];
}

/**
 * Parses Sentry's envelope format (https://develop.sentry.dev/sdk/data-model/envelopes/):
 * a header line, then per item a header line and a payload that is either `length` bytes
 * (when the item header has one) or the rest of the line. Works on bytes, since `length`
 * counts bytes, not characters.
 */
export function parseEnvelope(raw: Buffer): Envelope {
  let offset = 0;
  const readLine = (): Buffer => {
    const end = raw.indexOf(0x0a, offset);
    const line = raw.subarray(offset, end === -1 ? raw.length : end);
    offset = end === -1 ? raw.length : end + 1;
    return line;
  };
  const header = JSON.parse(readLine().toString("utf8")) as Record<string, unknown>;
  const items: EnvelopeItem[] = [];
  while (offset < raw.length) {
    const headerLine = readLine();
    if (headerLine.length === 0) continue;
    const itemHeader = JSON.parse(headerLine.toString("utf8")) as Record<string, unknown>;
    let payloadBytes: Buffer;
    if (typeof itemHeader.length === "number") {
      payloadBytes = raw.subarray(offset, offset + itemHeader.length);
      offset += itemHeader.length;
      if (raw[offset] === 0x0a) offset += 1;
    } else {
      payloadBytes = readLine();
    }
    const text = payloadBytes.toString("utf8");
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // attachments and other binary items stay as text
    }
    items.push({ type: String(itemHeader.type), header: itemHeader, payload });
  }
  return { header, items };
}

export interface SentryRecorder {
  /** DSN for Sentry.init: http://public@127.0.0.1:PORT/1 */
  dsn: string;
  server: RecordingServer;
  envelopes(): Envelope[];
  /** Payloads of "event" items (errors). */
  events(): Array<Record<string, any>>;
  /** Payloads of "check_in" items. */
  checkIns(): Array<Record<string, any>>;
  /** Resolves when `predicate` holds for the recorded envelopes, polling every 20 ms. */
  waitFor(predicate: (recorder: SentryRecorder) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const ENVELOPE_PATH_RE = /^\/api\/[^/]+\/envelope\/?(\?.*)?$/;

/** A local stand-in for Sentry's ingest endpoint that records envelopes posted to /api/<project>/envelope/. */
export async function startSentryRecorder(): Promise<SentryRecorder> {
  const server = await startRecordingServer({
    status: (req) => (req.method === "POST" && ENVELOPE_PATH_RE.test(req.path) ? 200 : 404),
    responseBody: () => "{}",
  });
  const envelopeRequests = (): RecordedRequest[] => server.requests.filter((r) => r.method === "POST" && ENVELOPE_PATH_RE.test(r.path));
  const envelopes = (): Envelope[] => envelopeRequests().map((r) => parseEnvelope(r.raw));
  const itemsOf = (type: string) => envelopes().flatMap((e) => e.items.filter((i) => i.type === type).map((i) => i.payload as Record<string, any>));
  const recorder: SentryRecorder = {
    dsn: `${server.url.replace("http://", "http://public@")}/1`,
    server,
    envelopes,
    events: () => itemsOf("event"),
    checkIns: () => itemsOf("check_in"),
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(recorder)) {
        if (Date.now() > deadline) throw new Error(`the Sentry recorder did not get what was expected within ${timeoutMs} ms (${envelopeRequests().length} envelope(s))`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => server.close(),
  };
  return recorder;
}
