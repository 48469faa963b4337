import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildDeadLetter,
  deadLetterBudget,
  deadLetterId,
  deadLetterPayload,
  type DeadLetterInput,
  DeadLetterSchema,
} from './dead-letter.ts';

const input = (data: Uint8Array, over: Partial<DeadLetterInput> = {}): DeadLetterInput => ({
  consumer: 'orchestrator',
  stream: 'SAGA_EVT',
  streamSeq: 42,
  subject: 'evt.inventory.reserved',
  headers: { 'Nats-Msg-Id': 'm-1', 'saga-id': 's-1' },
  data,
  reason: 'validation',
  error: 'invalid envelope',
  attempts: 1,
  ...over,
});
const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('dead letter records', () => {
  it('has one id per consumer, the same on every delivery', () => {
    expect(deadLetterId('SAGA_EVT', 7, 'orchestrator')).toBe('SAGA_EVT-7:orchestrator');
    expect(deadLetterId('SAGA_EVT', 7, 'fraud-agent')).not.toBe(deadLetterId('SAGA_EVT', 7, 'orchestrator'));
    expect(deadLetterId('SAGA_EVT', 7, 'orchestrator')).toBe(deadLetterId('SAGA_EVT', 7, 'orchestrator'));
  });

  it('keeps a small payload whole, as text when it is UTF-8 and in base64 when not', () => {
    const text = buildDeadLetter(input(Buffer.from('{"héllo": "wörld"}')), 10_000);
    expect(text).toMatchObject({
      payload: '{"héllo": "wörld"}',
      payloadEncoding: 'utf8',
      payloadTruncated: false,
    });
    const bytes = new Uint8Array([0xff, 0x00, 0xc3, 0x28]);
    const bin = buildDeadLetter(input(bytes), 10_000);
    expect(bin).toMatchObject({ payloadEncoding: 'base64', payloadTruncated: false, payloadBytes: 4 });
    expect(Buffer.compare(Buffer.from(deadLetterPayload(bin)!), Buffer.from(bytes))).toBe(0);
    expect(DeadLetterSchema.parse(JSON.parse(JSON.stringify(bin)))).toEqual(bin);
  });

  it.each([
    ['quotes', Buffer.alloc(900_000, '"')],
    ['backslashes and control characters', Buffer.from('\\\u0001\n'.repeat(300_000))],
    ['multi-byte characters and quotes', Buffer.from('€😀""'.repeat(100_000))],
    ['invalid UTF-8', Buffer.alloc(900_000, 0xff)],
  ])('fits %s near max_payload within the budget, with a true prefix, size and digest', (_, data) => {
    const max = deadLetterBudget(1024 * 1024, 'SAGA_EVT-42:orchestrator');
    const letter = buildDeadLetter(input(data), max);
    expect(size(letter)).toBeLessThanOrEqual(max);
    expect(size(letter)).toBeGreaterThan(max - 16);
    expect(letter).toMatchObject({
      payloadTruncated: true,
      payloadBytes: data.length,
      payloadSha256: sha256(data),
    });
    expect(deadLetterPayload(letter)).toBeNull();
    const kept =
      letter.payloadEncoding === 'base64'
        ? Buffer.from(letter.payload, 'base64')
        : Buffer.from(letter.payload);
    expect(Buffer.compare(kept, data.subarray(0, kept.length))).toBe(0);
  });

  it('bounds huge errors and headers too', () => {
    const letter = buildDeadLetter(
      input(Buffer.from('x'), {
        error: 'e'.repeat(1_000_000),
        headers: { big: 'h'.repeat(500_000), small: 'ok' },
      }),
      100_000,
    );
    expect(size(letter)).toBeLessThanOrEqual(100_000);
    expect(letter.headers).toEqual({ small: 'ok' });
    expect(letter.headersTruncated).toBe(true);
    expect(letter.payload).toBe('x');
  });
});
