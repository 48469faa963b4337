import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../runtime/wire/index.ts';
import type { Role } from '../../runtime/node.ts';
import { appForTests } from '../dist.ts';
import { order, startTestNode, type TestNode, useTestNode, waitUntil } from '../harness.ts';
import { fullHistory } from './fraud-support.ts';

const agent: Role = { kind: 'reactor', name: 'fraud-agent' };

/**
 * The fraud agent as its own node next to the rest: stopped while payments keep coming,
 * started again, and fed a redelivered authorization. Every payment gets exactly one
 * verdict: one record, one message on the stream, one verdict event in its saga.
 */
describe('fraud agent stopped and restarted mid-run', () => {
  const node = useTestNode({
    roles: [
      { kind: 'orchestrator' },
      ...Object.keys(appForTests.participants).map((name): Role => ({ kind: 'service', name })),
      { kind: 'api' },
    ],
    config: { ackWaitMs: 3_000 },
  });
  let agentNode: TestNode | undefined;
  const startAgent = () =>
    startTestNode({
      roles: [agent],
      config: { namespace: node().config.namespace, mongoDb: node().config.mongoDb, ackWaitMs: 3_000 },
    });
  afterAll(async () => {
    await agentNode?.stop();
  });
  const db = () => node().mongo.db(node().config.mongoDb);
  const verdicts = () => db().collection('fraud_verdicts');

  async function start(i: number): Promise<string> {
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: `fr-rs-${i}`, customerId: `cust-rs-${i % 4}` }),
    );
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }

  /** Every fraud verdict message in the event stream, by the authorization it answers. */
  async function verdictMessages(): Promise<Map<string, number>> {
    const jsm = await jetstreamManager(node().bus.nc);
    const stream = node().bus.topo.streams.evt;
    const info = await jsm.streams.info(stream);
    const byCause = new Map<string, number>();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      const env = m?.json<Envelope>();
      if (env?.type.startsWith('fraud.'))
        byCause.set(env.causationId!, (byCause.get(env.causationId!) ?? 0) + 1);
    }
    return byCause;
  }

  const until = (what: string, pred: () => Promise<boolean>) => waitUntil(pred, what);

  it('each payment gets exactly one verdict', async () => {
    agentNode = await startAgent();
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => start(i)));
    await until('the first verdicts', async () => (await verdicts().countDocuments({})) >= 2);
    await agentNode.stop();
    agentNode = undefined;

    // Payments keep coming while no agent runs: their sagas wait in screening.
    const second = await Promise.all(Array.from({ length: 8 }, (_, i) => start(8 + i)));
    for (const sagaId of second) await node().waitFor(sagaId, (d) => d.state === 'screeningPayment');
    const whileDown = await verdicts().countDocuments({});
    expect(whileDown).toBeLessThan(16);

    agentNode = await startAgent();
    const all = [...first, ...second];
    const revs = new Map<string, number>();
    for (const sagaId of all) {
      const doc = await node().waitForTerminal(sagaId);
      expect(doc.status).toBe('completed');
      revs.set(sagaId, doc.rev);
    }

    expect(await verdicts().countDocuments({})).toBe(16);
    const messages = await verdictMessages();
    for (const sagaId of all) {
      const history = await fullHistory(node(), sagaId, revs.get(sagaId)!);
      const authorized = history.filter((h) => h.event.type === 'payment.authorized');
      const verdictEvents = history.filter((h) => h.event.type.startsWith('fraud.'));
      expect(authorized).toHaveLength(1);
      expect(verdictEvents).toHaveLength(1);
      expect(verdictEvents[0]!.event.type).toBe('fraud.approved');
      expect(await verdicts().countDocuments({ _id: authorized[0]!.event.id } as never)).toBe(1);
      expect(messages.get(authorized[0]!.event.id)).toBe(1);
    }
  });

  it('a redelivered authorization republishes the recorded verdict, not a new one', async () => {
    agentNode ??= await startAgent();
    const sagaId = await start(100);
    const done = await node().waitForTerminal(sagaId);
    const history = await fullHistory(node(), sagaId, done.rev);
    const authorized = history.find((h) => h.event.type === 'payment.authorized')!;
    const recorded = await verdicts().findOne({ _id: authorized.event.id } as never);
    expect(recorded).not.toBeNull();

    // The same event under another message id: the stream cannot dedup it, the agent must.
    const env: Envelope = {
      id: authorized.event.id,
      type: 'payment.authorized',
      schemaVersion: 1,
      occurredAt: authorized.at.toISOString(),
      sagaId,
      sagaType: 'order-fulfillment',
      correlationId: sagaId,
      causationId: null,
      data: authorized.event.data as Record<string, unknown>,
    };
    await node().bus.publish('evt.payment.authorized', env, `${authorized.event.id}:again`);
    const jsm = await jetstreamManager(node().bus.nc);
    await until('the agent to take the redelivery', async () => {
      const c = await jsm.consumers.info(node().bus.topo.streams.evt, 'fraud-agent');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    });
    expect(
      await verdicts()
        .find({ _id: authorized.event.id } as never)
        .toArray(),
    ).toEqual([recorded]);
    expect((await verdictMessages()).get(authorized.event.id)).toBe(1);
    expect(
      (await node().store.historyOf(sagaId)).filter((h) => h.event.type.startsWith('fraud.')),
    ).toHaveLength(1);
  });
});
