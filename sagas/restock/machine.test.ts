import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { SagaTestKit } from 'jetsaga/testing';
import {
  defaultApprovalTimeoutMs,
  restock,
  type RestockContext,
  restockMachine,
  type RestockOutput,
} from './index.ts';
import type { RestockInput } from './schema.ts';

const input = (over: Partial<RestockInput> = {}): RestockInput => ({
  purchaseOrderId: 'po-1',
  recommendationId: 'rec-1',
  sku: 'SKU-1',
  qty: 100,
  unitCost: 2.5,
  currency: 'USD',
  supplier: 'acme',
  leadTimeMs: 3_600_000,
  approvalThreshold: 10_000,
  ...over,
});

const kit = () =>
  new SagaTestKit(restock)
    .on('suppliers.place-order', (c) => ({ type: 'suppliers.order-confirmed', data: { ...c.data } }))
    .on('suppliers.deliver', () => ({
      type: 'suppliers.order-delivered',
      data: { purchaseOrderId: 'po-1', sku: 'SKU-1', qty: 100 },
    }))
    .on('inventory.receive', (c) => ({ type: 'inventory.received', data: { ...c.data } }))
    .on('suppliers.cancel-order', () => ({
      type: 'suppliers.order-cancelled',
      data: { purchaseOrderId: 'po-1' },
    }));

const ctx = (k: SagaTestKit<unknown>) => k.context as RestockContext;

describe('restock machine', () => {
  it('places the order, asks for the delivery, receives the goods under the purchase order id', () => {
    const k = kit().start(input());
    expect(k.commandTypes()).toEqual(['suppliers.place-order', 'suppliers.deliver', 'inventory.receive']);
    expect(k.commands[0]!.data).toEqual({
      purchaseOrderId: 'po-1',
      supplier: 'acme',
      sku: 'SKU-1',
      qty: 100,
      unitCost: 2.5,
    });
    expect(k.commands[2]!.data).toEqual({ receiptId: 'po-1', sku: 'SKU-1', qty: 100 });
    expect(k.status).toBe('completed');
    expect(ctx(k).approval).toBeNull();
    expect(k.armedTimers).toEqual([]);
  });

  it('a refused order ends compensated with the supplier reason, and cancels nothing (no order exists)', () => {
    const k = kit()
      .on('suppliers.place-order', () => ({
        type: 'suppliers.order-refused',
        data: { purchaseOrderId: 'po-1', reason: 'acme does not supply SKU-REFUSED' },
      }))
      .start(input({ sku: 'SKU-REFUSED' }));
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('supplier-refused: acme does not supply SKU-REFUSED');
    expect(k.commandTypes()).toEqual(['suppliers.place-order']);
  });

  it('a delivery that the lead time does not see cancels the purchase order: delivery-late', () => {
    const k = kit()
      .on('suppliers.deliver', () => ({
        type: 'suppliers.delivery-delayed',
        data: { purchaseOrderId: 'po-1', reason: 'behind schedule' },
      }))
      .start(input({ leadTimeMs: 60_000 }));
    expect(k.state).toBe('ordering.delayed');
    // Asked again a quarter of the lead time later, then again, until the lead time runs out.
    k.advance(15_000);
    expect(k.commandTypes().filter((t) => t === 'suppliers.deliver')).toHaveLength(2);
    k.advance(45_000);
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('delivery-late');
    expect(k.commandTypes().at(-1)).toBe('suppliers.cancel-order');
    expect(ctx(k).delays).toBeGreaterThanOrEqual(2);
    expect(k.commandTypes()).not.toContain('inventory.receive');
  });

  it('a supplier that never answers: the order may exist, so it is cancelled (supplier-timeout)', () => {
    const k = kit()
      .on('suppliers.place-order', () => undefined)
      .start(input());
    k.advance(30_000);
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('supplier-timeout');
    expect(k.commandTypes()).toEqual(['suppliers.place-order', 'suppliers.cancel-order']);
  });

  it('an unanswered receipt is sent again, and the saga completes when one answer comes', () => {
    let n = 0;
    const k = kit()
      .on('inventory.receive', (c) =>
        ++n < 3 ? undefined : { type: 'inventory.received', data: { ...c.data } },
      )
      .start(input());
    expect(k.state).toBe('receiving');
    k.advance(30_000).advance(30_000);
    expect(k.status).toBe('completed');
    expect(k.commandTypes().filter((t) => t === 'inventory.receive')).toHaveLength(3);
  });

  it('a refused receipt fails the saga: the goods are in but not in stock, someone must look', () => {
    const k = kit()
      .on('inventory.receive', () => ({
        type: 'inventory.receive-refused',
        data: { reason: 'unknown SKU X' },
      }))
      .start(input());
    expect(k.status).toBe('failed');
    expect(k.reason).toBe('receive-refused: unknown SKU X');
  });

  it('a cancel while waiting for the delivery cancels the purchase order and ends cancelled', () => {
    const k = kit()
      .on('suppliers.deliver', () => undefined)
      .start(input());
    k.send({ type: 'saga.cancel', data: { reason: 'forecast changed' } });
    expect(k.status).toBe('cancelled');
    expect(k.reason).toBe('cancelled: forecast changed');
    expect(k.commandTypes().at(-1)).toBe('suppliers.cancel-order');
  });

  describe('above the value threshold', () => {
    const large = (over: Partial<RestockInput> = {}) => input({ qty: 10_000, unitCost: 2, ...over });

    it('waits in awaitingApproval, asking for nothing, with the approval deadline armed', () => {
      const k = kit().start(large());
      expect(k.state).toBe('awaitingApproval');
      expect(k.commands).toEqual([]);
      expect(k.armedTimers.map((t) => t.dueAt.getTime() - k.now.getTime())).toEqual([
        defaultApprovalTimeoutMs,
      ]);
    });

    it('exactly at the threshold needs no approval', () => {
      expect(kit().start(large({ approvalThreshold: 20_000 })).status).toBe('completed');
    });

    it('approve-restock places the order, keeping who decided and the note', () => {
      const k = kit().start(large()).signal('approve-restock', { note: 'season peak' }, 'alice');
      expect(k.status).toBe('completed');
      expect(ctx(k).approval).toEqual({ decision: 'approved', by: 'alice', note: 'season peak' });
    });

    it('reject-restock ends compensated with nothing ordered', () => {
      const k = kit().start(large()).signal('reject-restock', { note: 'too much' }, 'bob');
      expect(k.status).toBe('compensated');
      expect(k.reason).toBe('approval-rejected');
      expect(k.commands).toEqual([]);
    });

    it('at the deadline the policy decides: reject by default, approve when the input says so', () => {
      const rejected = kit().start(large({ approvalTimeoutMs: 60_000 }));
      rejected.advance(59_999);
      expect(rejected.state).toBe('awaitingApproval');
      rejected.advance(1);
      expect(rejected.status).toBe('compensated');
      expect(rejected.reason).toBe('approval-timeout');
      expect(ctx(rejected).approval).toEqual({ decision: 'timeout', policy: 'reject' });

      const approved = kit().start(large({ approvalTimeoutMs: 60_000, approvalTimeoutPolicy: 'approve' }));
      approved.advance(60_000);
      expect(approved.status).toBe('completed');
      expect(ctx(approved).approval).toEqual({ decision: 'timeout', policy: 'approve' });
    });

    it('an approval signal outside awaitingApproval is refused', () => {
      const k = kit()
        .on('suppliers.deliver', () => undefined)
        .start(input());
      expect(() => k.signal('approve-restock', { note: 'x' })).toThrow(
        /states that accept it: awaitingApproval/,
      );
    });
  });

  it('the output carries what the agent needs to close its recommendation', () => {
    // The machine alone (it is pure): saga.ended publishes this output.
    const actor = createActor(restockMachine, { input: { ...input(), sagaId: 's-1' } }).start();
    actor.send({ type: 'suppliers.order-refused', data: { reason: 'no stock' } });
    expect(actor.getSnapshot().output).toEqual({
      status: 'compensated',
      reason: 'supplier-refused: no stock',
      purchaseOrderId: 'po-1',
      recommendationId: 'rec-1',
      sku: 'SKU-1',
      qty: 100,
      supplier: 'acme',
      amount: 250,
      currency: 'USD',
    } satisfies RestockOutput);
  });
});
