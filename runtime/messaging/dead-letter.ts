import { createHash } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import { z } from 'zod';

/**
 * What a dead letter keeps: enough to understand the failure and to replay the original.
 *
 * A dead letter always fits in one NATS message (see `buildDeadLetter`): the original payload is
 * kept whole when it fits once JSON-escaped, otherwise only a prefix of it, with its full size and
 * SHA-256, and `stream`/`streamSeq` name where the original bytes still are. The fields after
 * `at` came later: records written before them have none (read absent `payloadEncoding` as utf8,
 * absent `payloadTruncated` as false).
 */
export const DeadLetterSchema = z.object({
  /** `<stream>-<seq>:<consumer>`: one per consumer that gave up on the message, stable across redeliveries. */
  id: z.string(),
  consumer: z.string(),
  /** Where the original is: `jsm.streams.getMessage(stream, { seq: streamSeq })` while its stream keeps it. */
  stream: z.string(),
  streamSeq: z.number().int(),
  subject: z.string(),
  headers: z.record(z.string(), z.string()),
  /** The original payload (or its first bytes when `payloadTruncated`), as `payloadEncoding` says. */
  payload: z.string(),
  reason: z.string(),
  error: z.string(),
  attempts: z.number().int(),
  at: z.string(),
  /** `utf8`: `payload` is the payload's text (it was valid UTF-8); `base64`: its bytes in base64. */
  payloadEncoding: z.enum(['utf8', 'base64']).optional(),
  /** Size of the whole original payload in bytes. */
  payloadBytes: z.number().int().nonnegative().optional(),
  /** SHA-256 (hex) of the whole original payload: tells whether bytes fetched from the stream are it. */
  payloadSha256: z.string().optional(),
  /** `payload` holds only the first bytes of the original (it did not fit in a NATS message once escaped). */
  payloadTruncated: z.boolean().optional(),
  /** Some original headers were left out (they would not fit); the original message has them all. */
  headersTruncated: z.boolean().optional(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/**
 * The id of a consumer's dead letter of one message: its `Nats-Msg-Id` on the DLQ stream. It names
 * the consumer because several consumers read one event (the orchestrator and a reactor both read
 * `payment.authorized`): each one's dead letter is its own, where a `<stream>-<seq>` id made the
 * DLQ stream drop the second as a duplicate. Stable across redeliveries to one consumer, so a
 * dead letter written twice (the term after it was lost) is stored once within the duplicate window.
 */
export function deadLetterId(stream: string, seq: number, consumer: string): string {
  return `${stream}-${seq}:${consumer}`;
}

/** NATS's default max_payload, for a connection that has not received the server's INFO. */
export const defaultMaxPayload = 1024 * 1024;

/** Bytes left for a dead letter's JSON in a NATS message of `maxPayload` bytes published with `Nats-Msg-Id: <msgId>`. */
export function deadLetterBudget(maxPayload: number, msgId: string): number {
  // The server counts headers and payload against max_payload: `NATS/1.0\r\n`, the header line,
  // the blank line; 256 bytes of slack for anything a client version adds.
  const headerBytes = 'NATS/1.0\r\n'.length + `Nats-Msg-Id: ${msgId}\r\n`.length + 2;
  return maxPayload - headerBytes - 256;
}

export interface DeadLetterInput {
  consumer: string;
  stream: string;
  streamSeq: number;
  /** Local subject (no namespace). */
  subject: string;
  headers: Record<string, string>;
  data: Uint8Array;
  reason: string;
  error: string;
  attempts: number;
  at?: string;
}

/** Longest error message a dead letter keeps (a handler's error can be anything). */
const maxErrorChars = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * A dead letter whose JSON is at most `maxBytes` bytes (`deadLetterBudget`), so publishing it cannot
 * fail for its size: a message near max_payload grows past it once JSON-escaped (900 KB of `"` is
 * 1.8 MB as a JSON string; invalid UTF-8 read as text triples), and a dead letter that cannot be
 * written is a message lost. The payload is kept as text when it is valid UTF-8 (readable, and
 * replayable as is), in base64 otherwise (text decoding would replace the bytes); whole when it
 * fits in what the other fields leave, else its longest prefix that does, with `payloadTruncated`.
 * Size and SHA-256 of the whole payload are always there; the original stays in its stream at
 * `streamSeq` (commands and events are kept `streamMaxAgeMs`, 7 days by default, on limits
 * retention: a consumer's ack or term does not remove them), where `fetchOriginalPayload` reads it.
 * Dead letters live longer (`dlqMaxAgeMs`, 30 days): past the source's max_age a truncated one
 * keeps only its prefix, size and digest.
 */
export function buildDeadLetter(input: DeadLetterInput, maxBytes: number): DeadLetter {
  const { data } = input;
  const text = decodeUtf8(data);
  const headers: Record<string, string> = {};
  let headersTruncated = false;
  // Original headers are small; a message that is mostly headers keeps what fits in a quarter.
  const headerBudget = Math.min(64 * 1024, Math.floor(maxBytes / 4));
  let headerBytes = 2;
  for (const [key, value] of Object.entries(input.headers)) {
    const add = jsonBytes(key) + jsonBytes(value) + 2;
    if (headerBytes + add > headerBudget) {
      headersTruncated = true;
      continue;
    }
    headers[key] = value;
    headerBytes += add;
  }
  const letter: DeadLetter = {
    id: deadLetterId(input.stream, input.streamSeq, input.consumer),
    consumer: input.consumer,
    stream: input.stream,
    streamSeq: input.streamSeq,
    subject: input.subject,
    headers,
    payload: '',
    reason: input.reason,
    error: input.error.length > maxErrorChars ? `${input.error.slice(0, maxErrorChars)}…` : input.error,
    attempts: input.attempts,
    at: input.at ?? new Date().toISOString(),
    payloadEncoding: text === null ? 'base64' : 'utf8',
    payloadBytes: data.length,
    payloadSha256: createHash('sha256').update(data).digest('hex'),
    // `true` is shorter than `false`: measuring with `false` leaves room for either.
    payloadTruncated: false,
    ...(headersTruncated ? { headersTruncated } : {}),
  };
  const budget = Math.max(0, maxBytes - jsonBytes(letter));
  const fitted = text === null ? fitBase64(data, budget) : fitText(data, text, budget);
  letter.payload = fitted.payload;
  letter.payloadTruncated = fitted.truncated;
  if (jsonBytes(letter) > maxBytes) {
    // Only a budget smaller than the fixed fields gets here: keep the pointers, drop the rest.
    Object.assign(letter, { headers: {}, headersTruncated: true, payload: '', payloadTruncated: true });
    letter.error = letter.error.slice(0, 200);
  }
  return letter;
}

function decodeUtf8(data: Uint8Array): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/** Bytes of a string inside a JSON document, quotes excluded. */
const escapedBytes = (s: string) => jsonBytes(s) - 2;

/** The longest prefix of valid UTF-8 `data`, cut between characters, whose escaped text fits in `budget`. */
function fitText(data: Uint8Array, text: string, budget: number): { payload: string; truncated: boolean } {
  if (escapedBytes(text) <= budget) return { payload: text, truncated: false };
  // A byte costs at least one escaped byte, so no prefix longer than the budget fits.
  const boundary = (n: number) => {
    while (n > 0 && n < data.length && (data[n]! & 0xc0) === 0x80) n--;
    return n;
  };
  const prefix = (n: number) => utf8.decode(data.subarray(0, boundary(n)));
  let lo = 0;
  let hi = Math.min(data.length - 1, budget);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (escapedBytes(prefix(mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return { payload: prefix(lo), truncated: true };
}

function fitBase64(data: Uint8Array, budget: number): { payload: string; truncated: boolean } {
  const whole = Math.ceil(data.length / 3) * 4;
  if (whole <= budget) return { payload: Buffer.from(data).toString('base64'), truncated: false };
  const n = Math.floor(budget / 4) * 3;
  return { payload: Buffer.from(data.subarray(0, n)).toString('base64'), truncated: true };
}

/**
 * The original payload's bytes as the dead letter holds them, or null when it holds only a prefix
 * (then `fetchOriginalPayload`). Records from before `payloadEncoding` hold text.
 */
export function deadLetterPayload(letter: DeadLetter): Uint8Array | null {
  if (letter.payloadTruncated) return null;
  return letter.payloadEncoding === 'base64'
    ? Buffer.from(letter.payload, 'base64')
    : Buffer.from(letter.payload, 'utf8');
}

/**
 * The original payload: from the dead letter when it is whole, otherwise read from its stream by
 * sequence and checked against the recorded SHA-256. Null when the stream no longer has it (past
 * its max_age, deleted) or what is there is not it.
 */
export async function fetchOriginalPayload(
  jsm: JetStreamManager,
  letter: DeadLetter,
): Promise<Uint8Array | null> {
  const held = deadLetterPayload(letter);
  if (held) return held;
  const msg = await jsm.streams.getMessage(letter.stream, { seq: letter.streamSeq }).catch(() => null);
  if (!msg) return null;
  if (letter.payloadSha256 && createHash('sha256').update(msg.data).digest('hex') !== letter.payloadSha256)
    return null;
  return msg.data;
}
