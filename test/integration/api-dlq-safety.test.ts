import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadLetter, topology } from '../../runtime/messaging/index.ts';
import { replayTarget } from '../../runtime/http/dead-letters.ts';
import { startTestNode, testEnvelope, type TestNode } from '../harness.ts';
import { SpecValidator } from './api-support.ts';

interface Problem {
  status: number;
  title: string;
  detail: string;
}
interface Letter {
  id: string;
  consumer: string;
  subject: string;
  reason: string;
  error: string;
  payload: string;
}

/**
 * A DLQ record is data anyone with publish rights on `dlq.*` can write. Replaying one must
 * only ever send a message back to a subject its consumer reads, and a record jetsaga did
 * not write is shown as such and never replayed.
 */
describe('dead letters API: replay safety and foreign records', () => {
  let node: TestNode;
  let spec: SpecValidator;
  let victim: string;

  beforeAll(async () => {
    node = await startTestNode({
      config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40, shutdownTimeoutMs: 500 },
    });
    spec = new SpecValidator(
      (await (await node.fetch('/openapi.json')).json()) as ConstructorParameters<typeof SpecValidator>[0],
    );
    const ns = node.bus.topo.namespace;
    victim = `${ns.toUpperCase()}_VICTIM`;
    const jsm = await jetstreamManager(node.bus.nc);
    await jsm.streams.add({ name: victim, subjects: [`${ns}.victim.>`] });
  });
  afterAll(async () => {
    if (node) {
      const jsm = await jetstreamManager(node.bus.nc);
      await jsm.streams.delete(victim).catch(() => undefined);
    }
    await node?.destroy();
  });

  const call = (method: string, path: string) => spec.call(node.api!.url, method, path);

  /** Writes a record straight onto a DLQ subject, as anyone allowed to publish there could. */
  async function forge(consumer: string, record: DeadLetter | string): Promise<string> {
    const body = typeof record === 'string' ? record : JSON.stringify(record);
    const ack = await node.bus.js.publish(node.bus.topo.dlqSubject(consumer), body);
    return String(ack.seq);
  }

  /** A well-formed record, consistent but for what the test changes (its stream follows its subject). */
  const letter = (over: Partial<DeadLetter>): DeadLetter => {
    const env = testEnvelope('saga.cancel', `forged-${Math.random()}`, 'no-such-saga', {});
    const { cmd, evt } = node.bus.topo.streams;
    return {
      id: `${node.bus.topo.streams.evt}-1`,
      consumer: 'orchestrator',
      stream: over.subject?.startsWith('cmd.') ? cmd : evt,
      streamSeq: 1,
      subject: 'evt.saga.cancel',
      headers: {},
      payload: JSON.stringify(env),
      reason: 'terminal',
      error: 'forged for the test',
      attempts: 1,
      at: new Date().toISOString(),
      ...over,
    };
  };

  async function expectRefused(id: string, mention: string[]): Promise<Problem> {
    const { res, body } = await call('POST', `/v1/dlq/${id}/replay`);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = body as Problem;
    for (const m of mention) expect(problem.detail).toContain(m);
    // Nothing was published and the record stays for an operator to look at or delete.
    const page = (await call('GET', '/v1/dlq')).body as { items: Letter[] };
    expect(page.items.map((l) => l.id)).toContain(id);
    return problem;
  }

  it('refuses to replay to a subject outside the topology (the JetStream API), and publishes nothing', async () => {
    const jsm = await jetstreamManager(node.bus.nc);
    const subject = `$JS.API.STREAM.DELETE.${victim}`;
    const id = await forge('orchestrator', letter({ subject }));
    const problem = await expectRefused(id, [subject]);
    expect(problem.detail).toMatch(/cmd\.>|evt\.>/);
    expect((await jsm.streams.info(victim)).config.name).toBe(victim);
    expect((await call('DELETE', `/v1/dlq/${id}`)).res.status).toBe(204);
  });

  it('refuses a subject the named consumer does not read, per its filter on the server', async () => {
    const evtBefore = (await (await jetstreamManager(node.bus.nc)).streams.info(node.bus.topo.streams.evt))
      .state.last_seq;
    const cmdBefore = (await (await jetstreamManager(node.bus.nc)).streams.info(node.bus.topo.streams.cmd))
      .state.last_seq;
    // The orchestrator reads events: a "dead letter of the orchestrator" that is a payment command.
    await expectRefused(
      await forge('orchestrator', letter({ subject: 'cmd.payment.authorize', consumer: 'orchestrator' })),
      ['cmd.payment.authorize', 'orchestrator'],
    );
    // A participant reads its own commands only.
    await expectRefused(
      await forge('svc-inventory', letter({ subject: 'cmd.payment.capture', consumer: 'svc-inventory' })),
      ['cmd.payment.capture', 'svc-inventory'],
    );
    // A reactor reads its event types only (filter_subjects on the server).
    await expectRefused(
      await forge('fraud-agent', letter({ subject: 'evt.saga.cancel', consumer: 'fraud-agent' })),
      ['evt.saga.cancel', 'fraud-agent'],
    );
    // No such consumer, a wildcard, an empty token, a name that is not a durable's.
    await expectRefused(await forge('svc-nope', letter({ consumer: 'svc-nope' })), ['svc-nope']);
    await expectRefused(await forge('orchestrator', letter({ subject: 'evt.>' })), ['evt.>']);
    await expectRefused(await forge('orchestrator', letter({ subject: 'evt..x' })), ['evt..x']);
    await expectRefused(await forge('orchestrator', letter({ consumer: '$JS.API.CONSUMER.DELETE' })), [
      '$JS.API.CONSUMER.DELETE',
    ]);
    const jsm = await jetstreamManager(node.bus.nc);
    expect((await jsm.streams.info(node.bus.topo.streams.evt)).state.last_seq).toBe(evtBefore);
    expect((await jsm.streams.info(node.bus.topo.streams.cmd)).state.last_seq).toBe(cmdBefore);
  });

  it("replays a record to a subject its consumer reads, answering the publish's stream sequence", async () => {
    const id = await forge('orchestrator', letter({ subject: 'evt.saga.cancel' }));
    const { res, body } = await call('POST', `/v1/dlq/${id}/replay`);
    expect(res.status).toBe(200);
    const replayed = body as { streamSeq: number; subject: string; msgId: string; duplicate: boolean };
    expect(replayed).toMatchObject({ subject: 'evt.saga.cancel', duplicate: false });
    expect(Number.isInteger(replayed.streamSeq) && replayed.streamSeq > 0).toBe(true);
    const jsm = await jetstreamManager(node.bus.nc);
    const stored = await jsm.streams.getMessage(node.bus.topo.streams.evt, { seq: replayed.streamSeq });
    expect(stored?.subject).toBe(node.bus.topo.evtSubject('saga.cancel'));
    expect(stored?.header.get('Nats-Msg-Id')).toBe(replayed.msgId);

    // A participant's own command subject is fine too.
    const cmd = await forge(
      'svc-inventory',
      letter({ consumer: 'svc-inventory', subject: 'cmd.inventory.release' }),
    );
    const again = await call('POST', `/v1/dlq/${cmd}/replay`);
    expect(again.res.status).toBe(200);
    expect((again.body as { streamSeq: number }).streamSeq).toBeGreaterThan(0);
  });

  /** Three DLQ messages jetsaga did not write: not JSON, JSON of another shape, JSON null. */
  const forgeForeign = async () => ({
    notJson: await forge('svc-payment', 'not json at all'),
    foreign: await forge('svc-payment', JSON.stringify({ hello: 'world', sagaId: 'abc' })),
    nullish: await forge('svc-payment', 'null'),
  });

  it('lists records that are not dead letters as such, saying why', async () => {
    const { notJson, foreign, nullish } = await forgeForeign();
    const { res, body } = await call('GET', '/v1/dlq?consumer=svc-payment');
    expect(res.status).toBe(200);
    const byId = new Map((body as { items: Letter[] }).items.map((l) => [l.id, l]));
    for (const id of [notJson, foreign, nullish]) {
      expect(byId.get(id)?.reason).toBe('not-a-dead-letter');
      expect(byId.get(id)?.error).toMatch(/^not a dead letter jetsaga wrote: /);
      expect(byId.get(id)?.consumer).toBe('svc-payment');
    }
    expect(byId.get(notJson)!.error).toMatch(/not JSON/);
    expect(byId.get(notJson)!.payload).toBe('not json at all');
    expect(byId.get(foreign)!.error).toMatch(/consumer/);
    expect(byId.get(nullish)!.error).toMatch(/expected object/);
    // Not a saga's dead letter: filtering by saga does not find it.
    expect(((await call('GET', '/v1/dlq?sagaId=abc')).body as { items: Letter[] }).items).toEqual([]);
  });

  it('refuses to replay a record that is not a dead letter (422), and deletes it', async () => {
    const ids = Object.values(await forgeForeign());
    for (const id of ids) {
      const problem = await expectRefused(id, ['not a dead letter jetsaga wrote']);
      expect(problem.status).toBe(422);
    }
    for (const id of ids) expect((await call('DELETE', `/v1/dlq/${id}`)).res.status).toBe(204);
    const after = (await call('GET', '/v1/dlq?consumer=svc-payment')).body as { items: Letter[] };
    for (const id of ids) expect(after.items.map((l) => l.id)).not.toContain(id);
  });
});

describe('replayTarget without a namespace', () => {
  const topo = topology('');
  const why = (subject: string) => {
    const t = replayTarget(topo, subject);
    return t.ok ? null : t.why;
  };
  it('refuses the JetStream API and anything outside cmd.> and evt.>', () => {
    for (const subject of ['$JS.API.STREAM.DELETE.SAGA_CMD', '_INBOX.abc', 'dlq.orchestrator', 'cmd', 'evt'])
      expect(why(subject), subject).toMatch(/cmd\.>.*evt\.>/);
    expect(why('evt.*')).toMatch(/wildcard/);
    expect(why('cmd.payment.>')).toMatch(/wildcard/);
    expect(why('evt.a b')).toMatch(/not a valid subject/);
    expect(why('evt..a')).toMatch(/not a valid subject/);
    expect(replayTarget(topo, 'evt.payment.authorized')).toEqual({
      ok: true,
      subject: 'evt.payment.authorized',
      stream: 'SAGA_EVT',
    });
    expect(replayTarget(topo, 'cmd.payment.authorize')).toEqual({
      ok: true,
      subject: 'cmd.payment.authorize',
      stream: 'SAGA_CMD',
    });
  });
});
