import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, type ParticipantDefinition, TransientError } from 'jetsaga';
import { inventory, receipts, stock } from '../../services/inventory/index.ts';
import { purchaseOrders } from '../../services/suppliers/index.ts';
import { appForTests } from '../dist.ts';
import { useTestNode, waitUntil, watchEvents } from '../harness.ts';
import { checkOrderInvariants } from '../invariants.ts';

/** Receipts whose first run "crashed" after taking effect, before its reply was published. */
const crashed = new Set<string>();

/**
 * Inventory whose `receive` crashes once, after its effect, for receipts whose id says so: the
 * host runs the command again (a redelivery), and the stock must still rise once.
 */
const crashingInventory: ParticipantDefinition = {
  ...inventory,
  commands: {
    ...inventory.commands,
    receive: {
      async handle(data, ctx) {
        const reply = await inventory.commands.receive!.handle(data, ctx);
        const { receiptId } = data as { receiptId: string };
        if (receiptId.startsWith('crash') && !crashed.has(receiptId)) {
          crashed.add(receiptId);
          throw new TransientError('crashed after the effect, before the publish');
        }
        return reply;
      },
    },
  },
};

/** The restock saga end to end: the API starts it, the suppliers and inventory participants answer. */
describe('restock saga end to end', () => {
  const node = useTestNode({
    dist: { ...appForTests, participants: { ...appForTests.participants, inventory: crashingInventory } },
  });
  const db = () => node().mongo.db(node().config.mongoDb);
  const run = randomBytes(3).toString('hex');
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  beforeAll(async () => {
    watched = await watchEvents(node());
  });
  afterAll(() => watched?.stop());
  /** The saga's saga.ended, as the restock agent will see it. */
  const endedOf = (sagaId: string) =>
    waitUntil(
      () => watched.events.find((e: Envelope) => e.type === 'saga.ended' && e.sagaId === sagaId),
      `saga.ended of ${sagaId}`,
    );
  const start = async (body: Record<string, unknown>) => {
    const res = await node().post('/v1/saga-types/restock/sagas', {
      sku: 'SKU-4',
      qty: 40,
      unitCost: 3,
      supplier: 'acme',
      leadTimeMs: 60_000,
      ...body,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  };
  const availableOf = async (sku: string) => (await stock(db()).findOne({ _id: sku }))?.available ?? 0;
  const signal = (sagaId: string, name: string, note: string) =>
    node().post(`/v1/sagas/${sagaId}/signals/${name}`, { note });

  it('a completed restock raises available by the ordered quantity once, though its receive ran twice', async () => {
    const before = await availableOf('SKU-4');
    const purchaseOrderId = `crash-${run}`;
    const id = await start({ purchaseOrderId, recommendationId: `rec-${run}` });
    const doc = await node().waitForTerminal(id);
    expect(doc.status).toBe('completed');
    expect(crashed.has(purchaseOrderId)).toBe(true);
    expect(await availableOf('SKU-4')).toBe(before + 40);
    expect(await receipts(db()).findOne({ _id: purchaseOrderId })).toMatchObject({
      status: 'applied',
      qty: 40,
    });
    expect((await purchaseOrders(db()).findOne({ _id: purchaseOrderId }))?.status).toBe('delivered');
    expect(doc.context).toMatchObject({ recommendationId: `rec-${run}`, purchaseOrderId });
    const commands = (await node().store.historyOf(id)).flatMap((h) => h.commands.map((c) => c.type));
    expect(commands).toEqual(['suppliers.place-order', 'suppliers.deliver', 'inventory.receive']);
    // What the agent correlates its recommendation with.
    expect((await endedOf(id)).data).toMatchObject({
      sagaType: 'restock',
      status: 'completed',
      output: { recommendationId: `rec-${run}`, purchaseOrderId, sku: 'SKU-4', qty: 40, status: 'completed' },
    });
  });

  it('a refused purchase ends compensated, orders nothing and receives nothing', async () => {
    const id = await start({ sku: 'SKU-REFUSED', purchaseOrderId: `ref-${run}` });
    const doc = await node().waitForTerminal(id);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('supplier-refused: acme does not supply SKU-REFUSED');
    expect(await purchaseOrders(db()).countDocuments({ _id: `ref-${run}` })).toBe(0);
    expect(await receipts(db()).countDocuments({ _id: `ref-${run}` })).toBe(0);
    // The SKU goes back to the agent: the event says why.
    expect((await endedOf(id)).data).toMatchObject({
      status: 'compensated',
      output: { reason: 'supplier-refused: acme does not supply SKU-REFUSED', sku: 'SKU-REFUSED' },
    });
  });

  it('a late supplier: the lead time runs out, the purchase order is cancelled, nothing is received', async () => {
    const before = await availableOf('SKU-5');
    const id = await start({
      sku: 'SKU-5',
      supplier: 'late-co',
      leadTimeMs: 1_500,
      purchaseOrderId: `late-${run}`,
    });
    const doc = await node().waitForTerminal(id);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('delivery-late');
    expect((await purchaseOrders(db()).findOne({ _id: `late-${run}` }))?.status).toBe('cancelled');
    expect(await availableOf('SKU-5')).toBe(before);
  });

  it('above the threshold it waits for approve-restock, then restocks; reject-restock orders nothing', async () => {
    const before = await availableOf('SKU-6');
    const big = { sku: 'SKU-6', qty: 500, unitCost: 40, approvalThreshold: 10_000 };
    const approved = await start({ ...big, purchaseOrderId: `ok-${run}` });
    const rejected = await start({ ...big, purchaseOrderId: `no-${run}` });
    for (const id of [approved, rejected]) await node().waitFor(id, (d) => d.state === 'awaitingApproval');
    expect(await purchaseOrders(db()).countDocuments({ _id: { $in: [`ok-${run}`, `no-${run}`] } })).toBe(0);

    expect((await signal(approved, 'approve-restock', 'peak season')).status).toBe(202);
    expect((await signal(rejected, 'reject-restock', 'too much')).status).toBe(202);
    const ok = await node().waitForTerminal(approved);
    expect(ok.status).toBe('completed');
    expect(ok.context).toMatchObject({ approval: { decision: 'approved', note: 'peak season' } });
    const no = await node().waitForTerminal(rejected);
    expect(no.status).toBe('compensated');
    expect(no.reason).toBe('approval-rejected');
    expect(await availableOf('SKU-6')).toBe(before + 500);
    expect(await purchaseOrders(db()).countDocuments({ _id: `no-${run}` })).toBe(0);
  });

  it('nobody approves by the deadline: the policy decides, a durable timer firing', async () => {
    const big = { sku: 'SKU-7', qty: 500, unitCost: 40, approvalTimeoutMs: 1_000 };
    const placed = await start({ ...big, purchaseOrderId: `dl-ok-${run}`, approvalTimeoutPolicy: 'approve' });
    const dropped = await start({ ...big, purchaseOrderId: `dl-no-${run}` });
    const ok = await node().waitForTerminal(placed);
    expect(ok.status).toBe('completed');
    expect(ok.context).toMatchObject({ approval: { decision: 'timeout', policy: 'approve' } });
    const no = await node().waitForTerminal(dropped);
    expect(no.status).toBe('compensated');
    expect(no.reason).toBe('approval-timeout');
    expect(await purchaseOrders(db()).countDocuments({ _id: `dl-no-${run}` })).toBe(0);
  });

  it('stock stays conserved: available + holds + committed == initial + received, per SKU', async () => {
    const report = await checkOrderInvariants(db());
    expect(report.violations).toEqual([]);
    // Every restock of this file checked: received once when completed, nothing otherwise.
    expect(report).toMatchObject({ sagas: 7, terminal: 7, byStatus: { completed: 3, compensated: 4 } });
    const sku4 = await stock(db()).findOne({ _id: 'SKU-4' });
    expect(sku4).toMatchObject({ received: 40, receipts: {} });

    // The checker sees a receipt counted twice: stock added with no receipt to show for it.
    await stock(db()).updateOne({ _id: 'SKU-4' }, { $inc: { available: 40, received: 40 } });
    const twice = await checkOrderInvariants(db());
    expect(twice.duplicateEffects).toBe(1);
    expect(twice.violations).toEqual(['stock SKU-4: received 80, but its applied receipts add up to 40']);
    // And stock that appeared from nowhere.
    await stock(db()).updateOne({ _id: 'SKU-4' }, { $inc: { received: -40 } });
    expect((await checkOrderInvariants(db())).violations).toEqual([
      expect.stringMatching(
        /^stock SKU-4: available \d+ \+ held 0 \+ committed 0 != initial 1000000 \+ received 40$/,
      ),
    ]);
    await stock(db()).updateOne({ _id: 'SKU-4' }, { $inc: { available: -40 } });
    expect((await checkOrderInvariants(db())).violations).toEqual([]);
  });
});
