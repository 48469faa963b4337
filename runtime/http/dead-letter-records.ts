// Records on the dead-letter stream as the API shows them: a dead letter jetsaga wrote, or a record
// that is not one (not UTF-8, not JSON, not the record's shape), said so rather than guessed at.
import type { StoredMsg } from '@nats-io/jetstream';
import { type DeadLetter, DeadLetterSchema, type Topology } from '../messaging/index.ts';
import { Header } from '../wire/index.ts';
import type { DeadLetterView } from './schemas.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The reason a DLQ message that is not a dead letter jetsaga wrote is listed with. */
export const notADeadLetter = 'not-a-dead-letter';

/** A DLQ message as a dead letter, or why it is not one (not JSON, not the record's shape). */
export function parseDeadLetter(
  msg: StoredMsg,
): { ok: true; letter: DeadLetter } | { ok: false; why: string } {
  let text: string;
  try {
    text = utf8.decode(msg.data);
  } catch {
    return { ok: false, why: 'not UTF-8 text' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, why: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = DeadLetterSchema.safeParse(value);
  if (parsed.success) return { ok: true, letter: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || 'the record'}: ${i.message}`)
    .join('; ');
  const more = parsed.error.issues.length > 3 ? `; and ${parsed.error.issues.length - 3} more` : '';
  return { ok: false, why: `not the record's shape: ${issues}${more}` };
}

export function toView(msg: StoredMsg, topo: Topology): DeadLetterView {
  const parsed = parseDeadLetter(msg);
  if (!parsed.ok) {
    // Not ours: shown for what it is, to look at and delete (a replay refuses it). It names
    // no saga and no message type: nothing says what it is about.
    const local = topo.local(msg.subject);
    return {
      id: String(msg.seq),
      deadLetterId: `dlq-${msg.seq}`,
      consumer: local.startsWith('dlq.') ? local.slice('dlq.'.length) : local,
      subject: local,
      sagaId: null,
      messageType: null,
      reason: notADeadLetter,
      error: `not a dead letter jetsaga wrote: ${parsed.why}`,
      attempts: 0,
      at: msg.time.toISOString(),
      headers: {},
      payload: msg.string(),
    };
  }
  const letter = parsed.letter;
  const at = new Date(letter.at);
  return {
    id: String(msg.seq),
    deadLetterId: letter.id,
    consumer: letter.consumer,
    subject: letter.subject,
    sagaId: letter.headers[Header.sagaId] ?? payloadField(letter.payload, 'sagaId'),
    messageType: letter.headers[Header.messageType] ?? payloadField(letter.payload, 'type'),
    reason: letter.reason,
    error: letter.error,
    attempts: letter.attempts,
    at: Number.isNaN(at.getTime()) ? null : at.toISOString(),
    headers: letter.headers,
    payload: letter.payload,
  };
}

/** A message published without jetsaga's headers may still carry its saga in the envelope. */
function payloadField(payload: string, field: string): string | null {
  try {
    const value = (JSON.parse(payload) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
