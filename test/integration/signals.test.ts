import { describe, expect, it } from 'vitest';
import type { ApiTokenEntry } from '../../runtime/api-tokens.ts';
import type { Config } from '../../runtime/config.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { approvalApp, type DeskSwitch } from '../fixtures/approval.ts';
import { useTestNode, waitUntil } from '../harness.ts';

const writeToken = 'w'.repeat(24);
const adminToken = 'a'.repeat(24);
const tokens = (entries: ApiTokenEntry[]) => entries as unknown as Config['apiTokens'];
const asAlice = { Authorization: `Bearer ${writeToken}` };
const asOncall = { Authorization: `Bearer ${adminToken}` };

interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

describe('signals and resume', () => {
  const desk: DeskSwitch = { down: false };
  const node = useTestNode({
    dist: approvalApp(desk),
    config: {
      auth: 'tokens',
      apiTokens: tokens([
        { name: 'alice', token: writeToken, scope: 'write' },
        { name: 'oncall', token: adminToken, scope: 'admin' },
      ]),
    },
  });
  const db = () => node().mongo.db(node().config.mongoDb);

  async function start(request: string): Promise<string> {
    const res = await node().post('/v1/saga-types/approval/sagas', { request }, asAlice);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }
  const signal = (sagaId: string, name: string, body: unknown, headers: Record<string, string> = {}) =>
    node().post(`/v1/sagas/${sagaId}/signals/${name}`, body, { ...asAlice, ...headers });
  const signalSteps = async (sagaId: string) =>
    (await node().store.historyOf(sagaId)).filter((h) => h.event.type.startsWith('saga.signal.'));

  it('a signal advances a waiting saga exactly once even when posted twice with the same key', async () => {
    const sagaId = await start('laptop');
    await node().waitFor(sagaId, (d) => d.state === 'awaitingApproval');

    const key = { 'Idempotency-Key': 'approve-laptop-1' };
    const body = { note: 'within budget', amount: 1200 };
    const [first, second] = await Promise.all([
      signal(sagaId, 'approve', body, key),
      signal(sagaId, 'approve', body, key),
    ]);
    // Both are accepted: sent twice as one message (same event id), or the second a replay.
    expect([first.status, second.status].sort()).toEqual(expect.arrayContaining([202]));
    const sent = (await first.json()) as { eventId: string };
    expect(((await second.json()) as { eventId: string }).eventId).toBe(sent.eventId);

    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('completed');
    expect(doc.context).toMatchObject({ decidedBy: 'alice', note: 'within budget' });
    const steps = await signalSteps(sagaId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({
      from: 'awaitingApproval',
      to: 'filing',
      event: { id: sent.eventId, data: { by: 'alice', data: body } },
    });
    expect(await db().collection('desk_files').countDocuments({ sagaId })).toBe(1);

    // A retry after the saga took it (and moved on) is a replay, not a 409; another body is a 422.
    const late = await signal(sagaId, 'approve', body, key);
    expect(late.status).toBe(200);
    expect(late.headers.get('Idempotent-Replayed')).toBe('true');
    const reused = await signal(sagaId, 'approve', { note: 'other' }, key);
    expect(reused.status).toBe(422);
    expect((await signalSteps(sagaId)).length).toBe(1);

    // Without the key, the saga has ended: 409.
    const ended = await signal(sagaId, 'approve', body);
    expect(ended.status).toBe(409);
    expect(((await ended.json()) as Problem).detail).toMatch(/already ended with status completed/);
  });

  it('answers 400 naming the field, 404 for an unknown saga or signal, 403 below the write scope', async () => {
    const sagaId = await start('chair');
    await node().waitFor(sagaId, (d) => d.state === 'awaitingApproval');

    const bad = await signal(sagaId, 'approve', { note: '', amount: -1 });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await bad.json()) as Problem;
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['amount', 'note']);
    expect((await signal(sagaId, 'approve', '[1]')).status).toBe(400);

    const unknownSignal = await signal(sagaId, 'escalate', {});
    expect(unknownSignal.status).toBe(404);
    expect(((await unknownSignal.json()) as Problem).detail).toMatch(
      /no signal "escalate"; its signals: approve, reject/,
    );
    expect((await signal('no-such-saga', 'approve', { note: 'x' })).status).toBe(404);
    expect((await node().post(`/v1/sagas/${sagaId}/signals/approve`, { note: 'x' })).status).toBe(401);

    // A resume needs the admin scope.
    const resume = await node().post(`/v1/sagas/${sagaId}/resume`, {}, asAlice);
    expect(resume.status).toBe(403);

    // Nothing above moved the saga.
    expect((await node().store.load(sagaId))!.state).toBe('awaitingApproval');
    expect(await signalSteps(sagaId)).toHaveLength(0);
    expect((await signal(sagaId, 'reject', { reason: 'no budget' })).status).toBe(202);
    expect((await node().waitForTerminal(sagaId)).status).toBe('compensated');
  });

  // One saga through both: the desk goes down, the saga stalls, a signal is refused; the desk is
  // back, an operator resumes, the saga completes.
  let stalledId = '';

  it('a signal in the wrong state answers 409 and changes nothing', async () => {
    desk.down = true;
    stalledId = await start('desk-outage');
    const stalled = await node().waitFor(stalledId, (d) => (d.stalled ?? []).length > 0, 20_000);
    expect(stalled.state).toBe('preparing');
    const history = await node().store.historyOf(stalledId);

    const res = await signal(stalledId, 'approve', { note: 'too early' }, { 'Idempotency-Key': 'early' });
    expect(res.status).toBe(409);
    const problem = (await res.json()) as Problem;
    expect(problem.detail).toMatch(/is in state preparing, which does not accept signal approve/);
    expect(problem.detail).toMatch(/states that accept it: awaitingApproval/);

    const after = (await node().store.load(stalledId))!;
    expect(after.rev).toBe(stalled.rev);
    expect(after.state).toBe('preparing');
    expect(await node().store.historyOf(stalledId)).toHaveLength(history.length);
  });

  it('the orchestrator refuses a signal its saga no longer accepts: dead-lettered, not dropped', async () => {
    // What the API's check cannot see: the saga moved between the check and the delivery.
    const doc = (await node().store.load(stalledId))!;
    const env: Envelope = {
      id: `${stalledId}:signal:approve:raced`,
      type: 'saga.signal.approve',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: stalledId,
      sagaType: 'approval',
      correlationId: doc.correlationId,
      causationId: null,
      data: { by: 'alice', data: { note: 'raced' } },
    };
    await node().bus.publish('evt.saga.signal.approve', env, env.id);
    const letters = await waitUntil(async () => {
      const res = await node().fetch('/v1/dlq?consumer=orchestrator', { headers: asOncall });
      const page = (await res.json()) as { items: Array<{ reason: string; error: string; type?: string }> };
      return page.items.find((l) => l.error.includes('signal approve')) ?? null;
    }, 'the refused signal in the dead letters');
    expect(letters.reason).toBe('conflict');
    expect(letters.error).toMatch(/states that accept it: awaitingApproval/);
    expect((await node().store.load(stalledId))!.rev).toBe(doc.rev);
  });

  it('a saga whose participant stayed down past its resends is resumed after the participant is back and completes', async () => {
    const before = (await node().store.load(stalledId))!;
    const [waitingOn] = before.stalled!;
    const view = (await (await node().fetch(`/v1/sagas/${stalledId}`, { headers: asAlice })).json()) as {
      stalled: Array<{ commandId: string; type: string; attempts: number }>;
    };
    expect(view.stalled).toEqual([
      expect.objectContaining({ commandId: waitingOn!.commandId, type: 'desk.prepare', attempts: 2 }),
    ]);

    desk.down = false;
    const res = await node().post(`/v1/sagas/${stalledId}/resume`, {}, asOncall);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { resumed: Array<{ commandId: string }> }).resumed).toEqual([
      expect.objectContaining({ commandId: waitingOn!.commandId }),
    ]);
    await node().waitFor(stalledId, (d) => d.state === 'awaitingApproval');
    expect((await node().post(`/v1/sagas/${stalledId}/resume`, {}, asOncall)).status).toBe(409);

    expect((await signal(stalledId, 'approve', { note: 'after the outage' })).status).toBe(202);
    const done = await node().waitForTerminal(stalledId);
    expect(done.status).toBe('completed');
    expect(done.stalled).toBeUndefined();

    const history = await node().store.historyOf(stalledId);
    const resumed = history.filter((h) => h.event.type === 'saga.resume');
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({
      from: 'preparing',
      to: 'preparing',
      event: { data: { by: 'oncall' } },
    });
    // The same command (its command id), under a msg id of its own, and its policy started over.
    expect(resumed[0]!.commands).toEqual([
      expect.objectContaining({
        type: 'desk.prepare',
        msgId: `${waitingOn!.commandId}:resume:${resumed[0]!.rev}`,
      }),
    ]);
    expect(resumed[0]!.timers.set.map((t) => t.id)).toEqual([`jetsaga.resend.${waitingOn!.commandId}`]);
  });

  it('answers 409 to a resume of a saga with nothing stalled, 404 for an unknown saga', async () => {
    const sagaId = await start('desk-fine');
    await node().waitFor(sagaId, (d) => d.state === 'awaitingApproval');
    const res = await node().post(`/v1/sagas/${sagaId}/resume`, {}, asOncall);
    expect(res.status).toBe(409);
    expect(((await res.json()) as Problem).detail).toMatch(/is not stalled.*nothing to resume/);
    expect((await node().post('/v1/sagas/nope/resume', {}, asOncall)).status).toBe(404);
  });

  it('the OpenAPI document has each signal with its schema, and the resume operation', async () => {
    const doc = (await (await node().fetch('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const approve = doc.paths['/v1/sagas/{id}/signals/approve']!.post!;
    const schema = (approve.requestBody as { content: Record<string, { schema: Record<string, unknown> }> })
      .content['application/json']!.schema;
    expect(schema).toMatchObject({
      type: 'object',
      required: ['note'],
      properties: { note: { type: 'string' } },
    });
    expect(approve.description).toMatch(/approval: accepted in `awaitingApproval`/);
    expect(doc.paths['/v1/sagas/{id}/signals/reject']).toBeDefined();
    expect(doc.paths['/v1/sagas/{id}/signals/{name}']!.post!['x-required-scope']).toBe('write');
    expect(doc.paths['/v1/sagas/{id}/resume']!.post!['x-required-scope']).toBe('admin');
  });
});
