import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { type DeadLetter, DeadLetterSchema } from '../../runtime/messaging/index.ts';
import { useTestNode, waitUntil } from '../harness.ts';

/**
 * A message near the server's max_payload whose dead letter would not fit once wrapped and escaped
 * (900 KB of `"` doubles in JSON, invalid UTF-8 triples as U+FFFD) is still dead-lettered: the record
 * keeps what fits of the payload, its full size and SHA-256, and the sequence to fetch it by.
 */
describe('dead letters of large messages', () => {
  const node = useTestNode({ config: { maxDeliver: 3, retryBaseMs: 20, retryMaxMs: 50 } });

  async function letterFor(msgId: string, consumer: string): Promise<{ letter: DeadLetter; size: number }> {
    const jsm = await jetstreamManager(node().bus.nc);
    const stream = node().bus.topo.streams.dlq;
    return waitUntil(
      async () => {
        for (let seq = 1; ; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
          if (!m) return null;
          const letter = DeadLetterSchema.parse(m.json());
          if (letter.headers['Nats-Msg-Id'] === msgId && letter.consumer === consumer)
            return { letter, size: m.data.length };
        }
      },
      `a dead letter of ${consumer} for ${msgId}`,
      15_000,
      100,
    );
  }

  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it.each([
    {
      what: '900 KB of quotes on an event',
      local: 'evt.inventory.reserved',
      consumer: 'orchestrator',
      fill: 0x22,
    },
    {
      what: '900 KB of invalid UTF-8 on a command',
      local: 'cmd.inventory.reserve',
      consumer: 'svc-inventory',
      fill: 0xff,
    },
  ])('$what', async ({ local, consumer, fill }) => {
    const data = new Uint8Array(900_000).fill(fill);
    const msgId = `big-${fill}`;
    const ack = await node().bus.js.publish(`${node().bus.topo.namespace}.${local}`, data, { msgID: msgId });
    const { letter, size } = await letterFor(msgId, consumer);
    const maxPayload = node().bus.nc.info!.max_payload;
    expect(size).toBeLessThanOrEqual(maxPayload);
    expect(letter).toMatchObject({
      reason: 'validation',
      subject: local,
      stream: ack.stream,
      streamSeq: ack.seq,
      payloadBytes: 900_000,
      payloadSha256: sha256(data),
      payloadTruncated: true,
      payloadEncoding: fill === 0xff ? 'base64' : 'utf8',
    });
    // What it keeps is a true prefix of the original, as large as fits.
    const kept =
      letter.payloadEncoding === 'base64'
        ? Buffer.from(letter.payload, 'base64')
        : Buffer.from(letter.payload, 'utf8');
    expect(kept.length).toBeGreaterThan(maxPayload / 3);
    expect(Buffer.compare(kept, Buffer.from(data.subarray(0, kept.length)))).toBe(0);
    // The original is still in its stream, found by the sequence the record names.
    const jsm = await jetstreamManager(node().bus.nc);
    const original = await jsm.streams.getMessage(letter.stream, { seq: letter.streamSeq });
    expect(sha256(original!.data)).toBe(letter.payloadSha256);
    // Settled: nothing of it is pending or waiting for an ack.
    const streamName = local.startsWith('evt.') ? node().bus.topo.streams.evt : node().bus.topo.streams.cmd;
    await waitUntil(
      async () => {
        const ci = await jsm.consumers.info(streamName, consumer);
        return ci.num_ack_pending === 0 && ci.num_pending === 0;
      },
      `consumer ${consumer} to have nothing pending or unacked`,
      5_000,
    );
  });

  it('lists the truncated dead letters through the API', async () => {
    const page = (await (await node().fetch('/v1/dlq?consumer=orchestrator')).json()) as {
      items: Array<{ payload: string; reason: string }>;
    };
    expect(page.items.length).toBeGreaterThanOrEqual(1);
  });
});
