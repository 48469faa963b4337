import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadLetter, DeadLetterSchema } from '../../runtime/messaging/index.ts';
import { allRoles } from '../../runtime/roles.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { commandIdOfKey, replyKey } from '../../runtime/participants/index.ts';
import { shipments } from '../../services/shipping/index.ts';
import { ensurePythonEnv, findPython3 } from '../../scripts/python-env.ts';
import { appForTests } from '../dist.ts';
import { order, startTestNode, testEnvelope, type TestNode, waitUntil, watchEvents } from '../harness.ts';
import { checkOrderInvariants } from '../invariants.ts';

const script = fileURLToPath(new URL('../../services/shipping-py/shipping.py', import.meta.url));
const python3 = findPython3();
if (!python3)
  process.stderr.write(
    'python-participant.test.ts: SKIPPED, no python3 (3.9 or later) on PATH; install it or set PYTHON3\n',
  );

/**
 * services/shipping-py, the shipping participant written in Python, in the TypeScript one's place:
 * every role of the reference app but `service:shipping` runs in the node, the Python process
 * reads `svc-shipping`. Orders complete and compensate through it, its documents are the TS
 * service's, its inbox replays, and what it cannot read is dead-lettered as the runtime does it.
 */
describe.skipIf(!python3)('a participant written in Python (services/shipping-py)', () => {
  let node: TestNode;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  const db = () => node.mongo.db(node.config.mongoDb);

  beforeAll(async () => {
    const python = await ensurePythonEnv({ log: (line) => process.stderr.write(`${line}\n`) });
    if (!python) throw new Error('python3 went missing between the check and the venv');
    node = await startTestNode({
      roles: allRoles(appForTests).filter((r) => !(r.kind === 'service' && r.name === 'shipping')),
    });
    watched = await watchEvents(node);
    child = spawn(python, [script], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NATS_URL: node.config.natsUrl,
        MONGO_URL: node.config.mongoUrl,
        JETSAGA_MONGO_DB: node.config.mongoDb,
        JETSAGA_NAMESPACE: node.config.namespace,
        JETSAGA_RETRY_BASE_MS: '20',
        JETSAGA_RETRY_MAX_MS: '100',
        // Records are purged a minute after their saga ended (the least these stream ages allow):
        // the records the tests below make themselves are ten minutes old.
        JETSAGA_STREAM_MAX_AGE_MS: '30000',
        JETSAGA_DLQ_MAX_AGE_MS: '30000',
        JETSAGA_INBOX_RETENTION_MS: '60000',
        JETSAGA_PURGE_INTERVAL_MS: '200',
        LOG_LEVEL: 'info',
        PYTHONUNBUFFERED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      output += b.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    // 'close', not 'exit': it comes once stdout and stderr are drained, so `output` is whole by then.
    child.on('close', (code, signal) => {
      exited = { code, signal };
    });
    await waitUntil(
      () => {
        if (exited) throw new Error(`the Python participant exited (${JSON.stringify(exited)}):\n${output}`);
        return output.includes('"service started"');
      },
      () => `the Python participant to start; its output:\n${output}`,
      60_000,
    );
  });

  afterAll(async () => {
    watched?.stop();
    if (child && !exited) {
      child.kill('SIGTERM');
      await waitUntil(() => exited, 'the Python participant to stop on SIGTERM', 15_000).catch(() => {
        child!.kill('SIGKILL');
      });
    }
    await node?.destroy();
  });

  async function start(body: unknown): Promise<string> {
    const res = await node.post('/v1/saga-types/order-fulfillment/sagas', body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }

  const replies = (commandId: string) => watched.events.filter((e) => e.id === `${commandId}:reply`);

  it('completes an order and compensates one at shipping (AQ), with the TS service’s documents', async () => {
    const ok = await start(order({ orderId: 'py-ok-1', items: [{ sku: 'SKU-3', qty: 2, unitPrice: 10 }] }));
    const aq = await start(
      order({ orderId: 'py-aq-1', shippingAddress: { ...order().shippingAddress, country: 'AQ' } }),
    );
    expect((await node.waitForTerminal(ok)).status).toBe('completed');
    const aqDoc = await node.waitForTerminal(aq);
    expect(aqDoc.status).toBe('compensated');

    // What services/shipping/index.ts writes: one created shipment with its tracking number, and
    // the reply kept in it under the command id (no inbox record).
    const created = await shipments(db()).findOne({ _id: 'py-ok-1' });
    expect(created).toEqual({
      _id: 'py-ok-1',
      status: 'created',
      trackingNumber: expect.stringMatching(/^TRK[0-9A-F]{12}$/),
      country: 'GB',
      items: [{ sku: 'SKU-3', qty: 2 }],
      updatedAt: expect.any(Date),
      replies: expect.any(Object),
    });
    expect(Object.keys(created!.replies!)).toHaveLength(1);
    const [createKey, kept] = Object.entries(created!.replies!)[0]!;
    // Antarctica: no shipment, an `unavailable` reply with the TS service's reason.
    expect(await shipments(db()).countDocuments({ _id: 'py-aq-1' })).toBe(0);
    const aqReply = await db()
      .collection<{ _id: string; reply: Envelope }>('shipping_processed')
      .findOne({ 'reply.sagaId': aq });
    expect(aqReply?.reply).toMatchObject({
      type: 'shipping.unavailable',
      data: { orderId: 'py-aq-1', reason: 'no carrier serves AQ' },
      sagaId: aq,
      sagaType: 'order-fulfillment',
    });

    // The kept reply is the TS service's: `{type, data, sagaId, at}` under `replyKey(commandId)`,
    // and nothing in the inbox for it.
    const createId = commandIdOfKey(createKey!);
    expect(createKey).toBe(replyKey(createId));
    expect(createId).toMatch(new RegExp(`^${ok}:`));
    expect(kept).toEqual({
      type: 'shipment-created',
      data: { orderId: 'py-ok-1', trackingNumber: created!.trackingNumber },
      sagaId: ok,
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    expect(
      await db().collection<{ _id: string }>('shipping_processed').countDocuments({ _id: createId }),
    ).toBe(0);

    // Replies carry the envelope headers, like the runtime's.
    const jsm = await jetstreamManager(node.bus.nc);
    const [okReply] = replies(createId);
    const okRecord = { _id: createId, reply: okReply! };
    expect(okRecord.reply).toMatchObject({
      id: `${createId}:reply`,
      type: 'shipping.shipment-created',
      causationId: createId,
      occurredAt: kept!.at,
      data: { orderId: 'py-ok-1', trackingNumber: created!.trackingNumber },
    });
    const stored = (await jsm.streams.getMessage(node.bus.topo.streams.evt, {
      last_by_subj: node.bus.topo.evtSubject('shipping.shipment-created'),
    }))!;
    expect(stored.header.get('Nats-Msg-Id')).toBe(`${okRecord._id}:reply`);
    expect(stored.header.get('saga-id')).toBe(ok);
    expect(stored.header.get('message-type')).toBe('shipping.shipment-created');
    expect(stored.header.get('causation-id')).toBe(okRecord._id);
    expect(stored.header.get('correlation-id')).toBe(okRecord.reply.correlationId);
    expect(stored.header.get('schema-version')).toBe('1');
    expect(stored.header.get('traceparent')).toBe(okRecord.reply.traceparent);

    // The end-to-end invariants the chaos suite checks: exactly once, nothing left behind.
    let violations: string[] = [];
    await waitUntil(
      async () => {
        violations = (await checkOrderInvariants(db())).violations;
        return violations.length === 0;
      },
      () => `no invariant violations; last: ${JSON.stringify(violations)}`,
      15_000,
    );
  });

  it('a command delivered again (another msg id) has one effect and the same reply', async () => {
    const command = testEnvelope('shipping.create-shipment', 'py-cmd-dup-1', 'py-saga-dup-1', {
      orderId: 'py-dup-1',
      items: [{ sku: 'SKU-1', qty: 1 }],
      address: { country: 'FR', city: 'Paris' },
    });
    await node.bus.publish('cmd.shipping.create-shipment', command, 'py-dup-first');
    await waitUntil(() => replies(command.id).length >= 1, 'the first reply', 15_000);
    await node.bus.publish('cmd.shipping.create-shipment', command, 'py-dup-second');
    await waitUntil(() => replies(command.id).length >= 2, 'the reply to the copy', 15_000);
    const [first, second] = replies(command.id);
    // The recorded reply, byte for byte: same id, same occurredAt, same data.
    expect(second).toEqual(first);
    expect(first).toMatchObject({
      type: 'shipping.shipment-created',
      causationId: command.id,
      sagaId: command.sagaId,
      correlationId: command.correlationId,
      traceparent: command.traceparent,
    });
    expect(await shipments(db()).countDocuments({ _id: 'py-dup-1' })).toBe(1);
    // Kept in the shipment, not in the inbox.
    expect(
      await db().collection<{ _id: string }>('shipping_processed').countDocuments({ _id: command.id }),
    ).toBe(0);
    expect((await shipments(db()).findOne({ _id: 'py-dup-1' }))?.replies?.[replyKey(command.id)]).toEqual({
      type: first!.type.replace('shipping.', ''),
      data: first!.data,
      sagaId: command.sagaId,
      at: first!.occurredAt,
    });

    // Cancel, then the create again under a third msg id: still the first reply, the shipment stays cancelled.
    const cancel = testEnvelope('shipping.cancel-shipment', 'py-cmd-dup-cancel', 'py-saga-dup-1', {
      orderId: 'py-dup-1',
    });
    await node.bus.publish('cmd.shipping.cancel-shipment', cancel, 'py-dup-cancel');
    await waitUntil(() => replies(cancel.id).length >= 1, 'the cancel reply', 15_000);
    expect(replies(cancel.id)[0]).toMatchObject({
      type: 'shipping.shipment-cancelled',
      data: { orderId: 'py-dup-1' },
    });
    await node.bus.publish('cmd.shipping.create-shipment', command, 'py-dup-third');
    await waitUntil(() => replies(command.id).length >= 3, 'the reply to the third copy', 15_000);
    expect(replies(command.id)[2]).toEqual(first);
    // The cancel again: its kept reply, unchanged (the upsert met its own reply).
    await node.bus.publish('cmd.shipping.cancel-shipment', cancel, 'py-dup-cancel-2');
    await waitUntil(() => replies(cancel.id).length >= 2, 'the reply to the cancel copy', 15_000);
    expect(replies(cancel.id)[1]).toEqual(replies(cancel.id)[0]);
    const after = await shipments(db()).findOne({ _id: 'py-dup-1' });
    expect(after).toMatchObject({ status: 'cancelled' });
    expect(Object.keys(after!.replies!).sort()).toEqual([replyKey(cancel.id), replyKey(command.id)].sort());
    expect(
      await db()
        .collection<{ _id: string }>('shipping_processed')
        .countDocuments({ _id: { $in: [command.id, cancel.id] } }),
    ).toBe(0);
  });

  it('dead-letters what it cannot read under svc-shipping, in the runtime’s shape, and terms it', async () => {
    const ns = node.bus.topo.namespace;
    await node.bus.js.publish(`${ns}.cmd.shipping.create-shipment`, 'not json at all', {
      msgID: 'py-poison-1',
    });
    await node.bus.js.publish(
      `${ns}.cmd.shipping.create-shipment`,
      JSON.stringify({ id: 'x', type: 'Nope' }),
      {
        msgID: 'py-poison-2',
      },
    );
    await node.bus.publish(
      'cmd.shipping.create-shipment',
      testEnvelope('shipping.create-shipment', 'py-bad-data', 'py-saga-bad', { orderId: 'o', items: [] }),
      'py-poison-3',
    );
    await node.bus.publish(
      'cmd.shipping.teleport',
      testEnvelope('shipping.teleport', 'py-unknown', 'py-saga-bad', { orderId: 'o' }),
      'py-poison-4',
    );

    const jsm = await jetstreamManager(node.bus.nc);
    let letters: DeadLetter[] = [];
    await waitUntil(
      async () => {
        letters = [];
        for (let seq = 1; ; seq++) {
          const m = await jsm.streams
            .getMessage(node.bus.topo.streams.dlq, {
              seq,
              next_by_subj: node.bus.topo.dlqSubject('svc-shipping'),
            } as never)
            .catch(() => null);
          if (!m) break;
          seq = m.seq;
          letters.push(DeadLetterSchema.strict().parse(m.json()));
        }
        return letters.length >= 4;
      },
      () => `4 dead letters of svc-shipping, found ${letters.length}`,
      15_000,
    );
    const byMsg = new Map(letters.map((l) => [l.headers['Nats-Msg-Id'], l]));
    const cmdStream = node.bus.topo.streams.cmd;
    const first = byMsg.get('py-poison-1')!;
    expect(first).toMatchObject({
      consumer: 'svc-shipping',
      stream: cmdStream,
      subject: 'cmd.shipping.create-shipment',
      payload: 'not json at all',
      payloadEncoding: 'utf8',
      payloadBytes: 'not json at all'.length,
      payloadTruncated: false,
      reason: 'validation',
      attempts: 1,
    });
    expect(first.id).toBe(`${cmdStream}-${first.streamSeq}:svc-shipping`);
    expect(first.error).toMatch(/^invalid envelope/);
    expect(byMsg.get('py-poison-2')!.error).toMatch(/type/);
    expect(byMsg.get('py-poison-3')).toMatchObject({ reason: 'validation' });
    expect(byMsg.get('py-poison-3')!.error).toContain('address');
    expect(byMsg.get('py-poison-4')!.error).toContain('has no command "shipping.teleport"');
    // The dead letter is the DLQ message's own id; the originals were termed, nothing is left pending.
    const dlq = (await jsm.streams.getMessage(node.bus.topo.streams.dlq, {
      last_by_subj: node.bus.topo.dlqSubject('svc-shipping'),
    }))!;
    expect(dlq.header.get('Nats-Msg-Id')).toMatch(/:svc-shipping$/);
    await waitUntil(
      async () => {
        const info = await jsm.consumers.info(cmdStream, 'svc-shipping');
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      'svc-shipping to settle every message',
      15_000,
    );
  });

  it('purges the old records of sagas no longer running, and keeps those of sagas that run', async () => {
    const processed = db().collection<{ _id: string; reply: { sagaId: string }; at: Date }>(
      'shipping_processed',
    );
    const old = new Date(Date.now() - 600_000);
    await db()
      .collection<{ _id: string; status: string }>('sagas')
      .insertMany([
        { _id: 'py-purge-ended', status: 'compensated' },
        { _id: 'py-purge-running', status: 'compensating' },
      ]);
    await processed.insertMany([
      { _id: 'py-purge-1', reply: { sagaId: 'py-purge-ended' }, at: old },
      { _id: 'py-purge-2', reply: { sagaId: 'py-purge-running' }, at: old },
      // Its saga was purged already: not running either.
      { _id: 'py-purge-3', reply: { sagaId: 'py-purge-gone' }, at: old },
      // Within the retention.
      { _id: 'py-purge-4', reply: { sagaId: 'py-purge-ended' }, at: new Date() },
    ]);
    // The log line is written after the delete returns, and reaches the pipe a moment later.
    await waitUntil(
      async () =>
        (await processed.countDocuments({ _id: { $in: ['py-purge-1', 'py-purge-3'] } })) === 0 &&
        output.includes('"purged old records"'),
      () => `the Python participant to purge the old records and say so; its output:\n${output}`,
      15_000,
    );
    expect(
      (await processed.find({ _id: { $in: ['py-purge-2', 'py-purge-4'] } }).toArray())
        .map((r) => r._id)
        .sort(),
    ).toEqual(['py-purge-2', 'py-purge-4']);
  });

  it("refuses an inbox retention below the streams' ages, naming the setting", async () => {
    const python = await ensurePythonEnv({ log: () => undefined });
    const refused = spawn(python!, [script], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        JETSAGA_INBOX_RETENTION_MS: '5000',
        PYTHONUNBUFFERED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    refused.stdout!.on('data', (b: Buffer) => (said += b.toString()));
    refused.stderr!.on('data', (b: Buffer) => (said += b.toString()));
    const code = await new Promise<number | null>((resolve) => refused.on('close', resolve));
    expect(code).toBe(2);
    expect(said).toContain('JETSAGA_INBOX_RETENTION_MS must be 0 (keep for ever) or at least 3196800000');
  });

  it('stops on SIGTERM', async () => {
    child!.kill('SIGTERM');
    const end = await waitUntil(
      () => exited,
      () => `the Python participant to exit; its output:\n${output}`,
      15_000,
    );
    expect(end).toEqual({ code: 0, signal: null });
    expect(output).toContain('"service stopped"');
  });
});
