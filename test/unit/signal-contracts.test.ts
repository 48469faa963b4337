import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { asyncApiOf, catalogueOf } from '../../runtime/contracts/index.ts';
import { defineSaga, SagaRegistry } from '../../runtime/orchestrator/index.ts';
import { approvalApp, approvalSaga } from '../fixtures/approval.ts';
import { asyncApiErrors } from './asyncapi-support.ts';

/** The approval saga, and a second type that declares `approve` with another body. */
const app = approvalApp();
const other = defineSaga({
  ...approvalSaga,
  type: 'approval-lite',
  signals: { approve: z.object({ ok: z.boolean() }), reject: z.object({ reason: z.string() }) },
});
const twoTypes = { ...app, registry: new SagaRegistry().register(approvalSaga, other) };

describe('signals in the catalogue and the AsyncAPI document', () => {
  it('lists each signal of each saga type with its body as data, sent by the api to the orchestrator', () => {
    const m = catalogueOf(app).messages['saga-signal:approval:approve']!;
    expect(m).toMatchObject({
      kind: 'saga-signal',
      type: 'saga.signal.approve',
      subject: 'evt.saga.signal.approve',
      version: 1,
      sentBy: ['api'],
      receivedBy: ['orchestrator'],
    });
    expect(m.schema).toMatchObject({
      required: ['by', 'data'],
      properties: { data: { required: ['note'], properties: { note: { type: 'string' } } } },
    });
  });

  it('keeps two types that declare one signal name apart, on one channel, and validates', async () => {
    const doc = asyncApiOf(twoTypes) as unknown as {
      channels: Record<string, { messages: Record<string, unknown> }>;
      operations: Record<string, { messages: unknown[] }>;
    };
    expect(Object.keys(doc.channels['evt.saga.signal.approve']!.messages).sort()).toEqual([
      'saga-signal.approval-lite.approve',
      'saga-signal.approval.approve',
    ]);
    expect(doc.operations['orchestrator.receive.evt.saga.signal.approve']!.messages).toHaveLength(2);
    expect(await asyncApiErrors(doc)).toEqual([]);
  }, 60_000);
});
