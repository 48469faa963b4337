// The order and restock sagas' end-to-end invariants, read straight from MongoDB: what the scale test and the chaos
// suite assert after crashing things. It trusts nothing the processes say about themselves: only the
// saga documents, the participants' collections and their inboxes.
import type { Db, Document, Filter } from 'mongodb';
import { commandIdOfKey, type StoredReply } from '../runtime/participants/index.ts';
import { type StoredHistoryEntry, withContexts } from '../runtime/store/index.ts';

export const terminalStatuses = ['completed', 'compensated', 'failed', 'cancelled'] as const;

/** Stock the inventory service seeds on first start (services/inventory `defaultCatalog`). */
export const seededStock: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`SKU-${i + 1}`, 1_000_000])),
  'SKU-OUT': 0,
  'SKU-10': 120,
};

/** Replies that mean a forward step took effect: one command each per saga, or the step ran twice. */
const forwardEffects = [
  'inventory.reserved',
  'payment.authorized',
  'payment.captured',
  'shipping.shipment-created',
  'suppliers.order-confirmed',
] as const;

/** The saga types checked when no filter is given: orders, and the restocks that add stock. */
const checkedTypes = ['order-fulfillment', 'restock'];

export interface InvariantOptions {
  /**
   * Stock per SKU before any order ran; every SKU here must satisfy
   * available + holds + committed == initial + received (the receipts inventory.receive applied).
   */
  initialStock?: Readonly<Record<string, number>>;
  /**
   * Which sagas to check; defaults to every order-fulfillment and restock saga in the database (a
   * saga of type `restock` gets the restock checks, any other the order checks). With a filter, effects
   * and inbox entries of other sagas are not reported as orphans (they may belong to sagas left out).
   */
  sagaFilter?: Filter<Document>;
  /**
   * Participants whose `<name>_processed` inbox, and the replies kept in their documents
   * (`replies` of payments, inventory_reservations, inventory_receipts, shipments), are checked; missing collections
   * are skipped.
   */
  services?: readonly string[];
}

export interface InvariantReport {
  sagas: number;
  terminal: number;
  /** Effects that break "exactly once": a hold, charge or shipment of the wrong size, a step run twice. */
  duplicateEffects: number;
  /** One sentence per broken invariant, naming the saga or order and what was found. */
  violations: string[];
  byStatus: Record<string, number>;
}

interface SagaRow {
  _id: string;
  type: string;
  status: string;
  state: string | null;
  input?: {
    orderId?: string;
    items?: Array<{ sku: string; qty: number; unitPrice: number }>;
    /** Restock: the purchase order (its receipt has the same id) and what it buys. */
    purchaseOrderId?: string;
    sku?: string;
    qty?: number;
  };
  context?: { orderId?: string; amount?: number; purchaseOrderId?: string } | null;
}

interface StockRow {
  _id: string;
  available: number;
  holds?: Record<string, number>;
  /** Units sold: the holds of committed orders. */
  committed?: number;
  /** Units received (inventory.receive): the sum of the SKU's applied receipts. */
  received?: number;
  /** Receipts added to the stock but not yet marked applied (a receive crashed between its writes). */
  receipts?: Record<string, number>;
}

interface ReceiptRow {
  _id: string;
  status: 'pending' | 'applied' | 'refused';
  sku: string;
  qty: number;
}

interface EffectRow {
  _id: string;
  status: string;
  amount?: number;
  capturedAmount?: number;
  /** Reservations: what was reserved, per SKU (summed). */
  items?: Array<{ sku: string; qty: number }>;
}

interface ProcessedRow {
  _id: string;
  reply?: { type?: string; sagaId?: string };
}

/** The documents in which each service keeps its replies (`replies.<replyKey(commandId)>`). */
const replyDocuments: Readonly<Record<string, readonly string[]>> = {
  inventory: ['inventory_reservations', 'inventory_receipts'],
  payment: ['payments'],
  shipping: ['shipments'],
  suppliers: ['purchase_orders'],
};

export async function checkOrderInvariants(db: Db, opts: InvariantOptions = {}): Promise<InvariantReport> {
  const initial = opts.initialStock ?? seededStock;
  const services = opts.services ?? ['inventory', 'payment', 'shipping', 'suppliers'];
  const violations: string[] = [];
  let duplicateEffects = 0;
  const duplicate = (what: string) => {
    duplicateEffects++;
    violations.push(what);
  };

  const sagas = await db
    .collection<SagaRow>('sagas')
    .find((opts.sagaFilter ?? { type: { $in: checkedTypes } }) as Filter<SagaRow>)
    .project<SagaRow>({
      _id: 1,
      type: 1,
      status: 1,
      state: 1,
      input: 1,
      'context.orderId': 1,
      'context.amount': 1,
      'context.purchaseOrderId': 1,
    })
    .toArray();
  const restocks = sagas.filter((s) => s.type === 'restock');
  const stock = await db.collection<StockRow>('inventory_stock').find({}).toArray();
  const reservations = await byId(db, 'inventory_reservations');
  const payments = await byId(db, 'payments');
  const shipments = await byId(db, 'shipments');
  const receipts = new Map(
    (await db.collection<ReceiptRow>('inventory_receipts').find({}).toArray()).map((r) => [r._id, r]),
  );

  // Live holds by order id: sku -> qty.
  const holdsByOrder = new Map<string, Map<string, number>>();
  for (const s of stock) {
    for (const [order, qty] of Object.entries(s.holds ?? {})) {
      if (!holdsByOrder.has(order)) holdsByOrder.set(order, new Map());
      holdsByOrder.get(order)!.set(s._id, qty);
    }
  }

  const byStatus: Record<string, number> = {};
  const sagasByOrder = new Map<string, string[]>();
  let terminal = 0;
  for (const saga of sagas) {
    if (saga.type === 'restock') continue;
    byStatus[saga.status] = (byStatus[saga.status] ?? 0) + 1;
    const orderId = saga.context?.orderId ?? saga.input?.orderId ?? saga._id;
    sagasByOrder.set(orderId, [...(sagasByOrder.get(orderId) ?? []), saga._id]);
    const where = `saga ${saga._id} (order ${orderId}, ${saga.status})`;
    if (!(terminalStatuses as readonly string[]).includes(saga.status)) {
      violations.push(`${where} is not terminal: state ${saga.state ?? 'none'}`);
      continue;
    }
    terminal++;
    const items = mergeItems(saga.input?.items ?? []);
    const amount = saga.context?.amount ?? orderAmount(saga.input?.items ?? []);
    const holds = holdsByOrder.get(orderId) ?? new Map<string, number>();
    const payment = payments.get(orderId);
    const shipment = shipments.get(orderId);
    const reservation = reservations.get(orderId);

    if (saga.status === 'completed') {
      // Completed means committed: the holds became sold stock (counted per SKU below) and left
      // the stock documents.
      if (reservation?.status !== 'committed') {
        violations.push(`${where}: reservation is ${reservation?.status ?? 'missing'}, not committed`);
      } else {
        const reserved = mergeItems(reservation.items ?? []);
        for (const [sku, qty] of items) {
          const got = reserved.get(sku);
          if (got === undefined) violations.push(`${where}: nothing of ${sku} was reserved`);
          else if (got !== qty) duplicate(`${where}: reserved ${got} x ${sku}, the order has ${qty}`);
        }
        for (const [sku, qty] of reserved) {
          if (!items.has(sku))
            duplicate(`${where}: reserved ${qty} x ${sku}, which the order does not contain`);
        }
      }
      for (const [sku, qty] of holds) {
        if (items.has(sku)) violations.push(`${where}: still holds ${qty} x ${sku}`);
        else duplicate(`${where}: hold of ${qty} x ${sku}, which the order does not contain`);
      }
      if (payment?.status !== 'captured') {
        violations.push(`${where}: payment is ${payment?.status ?? 'missing'}, not captured`);
      } else if (!sameMoney(payment.capturedAmount, amount) || !sameMoney(payment.amount, amount)) {
        duplicate(
          `${where}: captured ${payment.capturedAmount} of ${payment.amount}, the order is ${amount}`,
        );
      }
      if (shipment?.status !== 'created')
        violations.push(`${where}: shipment is ${shipment?.status ?? 'missing'}, not created`);
    } else {
      for (const [sku, qty] of holds) violations.push(`${where}: still holds ${qty} x ${sku}`);
      if (reservation?.status === 'committed') violations.push(`${where}: its stock was committed`);
      if (payment?.status === 'captured' || payment?.status === 'authorized')
        violations.push(`${where}: payment left ${payment.status}`);
      if (shipment?.status === 'created') violations.push(`${where}: shipment left created`);
    }
  }

  for (const [orderId, ids] of sagasByOrder) {
    if (ids.length > 1) violations.push(`order ${orderId} belongs to ${ids.length} sagas: ${ids.join(', ')}`);
  }

  // Stock is only ever moved, available -> holds -> committed (or back to available), or added by a
  // receipt: the sum per SKU is what it started with plus what was received. Each committed
  // reservation is counted once in its SKUs' `committed`, each receipt once in its SKU's `received`
  // (applied, or added and not yet marked: its marker is on the stock document).
  const committedBySku = new Map<string, number>();
  for (const r of reservations.values()) {
    if (r.status !== 'committed') continue;
    for (const [sku, qty] of mergeItems(r.items ?? []))
      committedBySku.set(sku, (committedBySku.get(sku) ?? 0) + qty);
  }
  const stockById = new Map(stock.map((s) => [s._id, s]));
  const receivedBySku = new Map<string, number>();
  for (const r of receipts.values()) {
    const marked = stockById.get(r.sku)?.receipts?.[r._id];
    if (marked !== undefined && marked !== r.qty)
      violations.push(`receipt ${r._id}: marked ${marked} on ${r.sku}, but it is for ${r.qty}`);
    if (r.status === 'applied' || (r.status === 'pending' && marked !== undefined))
      receivedBySku.set(r.sku, (receivedBySku.get(r.sku) ?? 0) + r.qty);
  }
  for (const [sku, qty] of Object.entries(initial)) {
    const s = stockById.get(sku);
    if (!s) {
      violations.push(`stock ${sku}: missing (expected ${qty})`);
      continue;
    }
    const held = Object.values(s.holds ?? {}).reduce((a, b) => a + b, 0);
    const committed = s.committed ?? 0;
    const received = s.received ?? 0;
    if (s.available + held + committed !== qty + received)
      violations.push(
        `stock ${sku}: available ${s.available} + held ${held} + committed ${committed} != initial ${qty} + received ${received}`,
      );
    const receiptsAdd = receivedBySku.get(sku) ?? 0;
    if (received > receiptsAdd)
      duplicate(`stock ${sku}: received ${received}, but its applied receipts add up to ${receiptsAdd}`);
    else if (received < receiptsAdd)
      violations.push(
        `stock ${sku}: received ${received}, but its applied receipts add up to ${receiptsAdd}`,
      );
    if (s.available < 0) violations.push(`stock ${sku}: available is negative (${s.available})`);
    const sold = committedBySku.get(sku) ?? 0;
    if (committed > sold)
      duplicate(`stock ${sku}: committed ${committed}, but committed reservations add up to ${sold}`);
    else if (committed < sold)
      violations.push(`stock ${sku}: committed ${committed}, but committed reservations add up to ${sold}`);
  }

  // Restocks: a completed one received its purchase order once, for what it ordered; any other
  // received nothing, and left no purchase order but a cancelled one.
  const purchaseOrders = await byId(db, 'purchase_orders');
  const sagasByPurchase = new Map<string, string[]>();
  for (const saga of restocks) {
    byStatus[saga.status] = (byStatus[saga.status] ?? 0) + 1;
    const po = saga.context?.purchaseOrderId ?? saga.input?.purchaseOrderId ?? saga._id;
    sagasByPurchase.set(po, [...(sagasByPurchase.get(po) ?? []), saga._id]);
    const where = `saga ${saga._id} (restock ${po}, ${saga.status})`;
    if (!(terminalStatuses as readonly string[]).includes(saga.status)) {
      violations.push(`${where} is not terminal: state ${saga.state ?? 'none'}`);
      continue;
    }
    terminal++;
    const receipt = receipts.get(po);
    const order = purchaseOrders.get(po);
    if (saga.status === 'completed') {
      if (receipt?.status !== 'applied')
        violations.push(`${where}: receipt is ${receipt?.status ?? 'missing'}, not applied`);
      else if (receipt.sku !== saga.input?.sku || receipt.qty !== saga.input?.qty)
        duplicate(
          `${where}: received ${receipt.qty} x ${receipt.sku}, it ordered ${saga.input?.qty} x ${saga.input?.sku}`,
        );
      if (order?.status !== 'delivered')
        violations.push(`${where}: purchase order is ${order?.status ?? 'missing'}, not delivered`);
    } else {
      if (receipt && receipt.status !== 'refused')
        violations.push(`${where}: its receipt is ${receipt.status}`);
      if (saga.status !== 'failed' && order && order.status !== 'cancelled')
        violations.push(`${where}: purchase order left ${order.status}`);
    }
  }
  for (const [po, ids] of sagasByPurchase) {
    if (ids.length > 1)
      violations.push(`purchase order ${po} belongs to ${ids.length} sagas: ${ids.join(', ')}`);
  }

  // Effects must belong to a saga: anything else was done for an order nobody asked for.
  const whole = opts.sagaFilter === undefined;
  const orphan = (what: string, ids: Iterable<string>) => {
    for (const id of ids)
      if (whole && !sagasByOrder.has(id)) violations.push(`${what} for order ${id}, which has no saga`);
  };
  orphan('hold', holdsByOrder.keys());
  orphan('reservation', reservations.keys());
  orphan('payment', payments.keys());
  orphan('shipment', shipments.keys());
  for (const [what, ids] of [
    ['receipt', receipts.keys()],
    ['purchase order', purchaseOrders.keys()],
  ] as const) {
    for (const id of ids)
      if (whole && !sagasByPurchase.has(id)) violations.push(`${what} ${id}, which has no restock saga`);
  }

  // Replies, recorded in a service's inbox (`<service>_processed`) or kept in its documents
  // (`replies`): every answered command names a saga, has one reply, and each forward step was
  // asked for once per saga (distinct command ids answering it, wherever their reply is).
  const sagaIds = new Set(sagas.map((s) => s._id));
  // A reply to a saga of another type (a restock's receive) belongs to a saga too.
  const anySaga = new Set(
    (
      await db
        .collection<{ _id: string }>('sagas')
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((s) => s._id),
  );
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const service of services) {
    const answered: Array<{ where: string; commandId: string; sagaId?: string; type: string }> = [];
    const name = `${service}_processed`;
    if (existing.has(name)) {
      for (const p of await db
        .collection<ProcessedRow>(name)
        .find({})
        .project<ProcessedRow>({ reply: 1 })
        .toArray())
        answered.push({ where: name, commandId: p._id, sagaId: p.reply?.sagaId, type: p.reply?.type ?? '' });
    }
    for (const docs of replyDocuments[service] ?? []) {
      if (!existing.has(docs)) continue;
      for (const d of await db
        .collection<{ _id: string; replies?: Record<string, Partial<StoredReply>> }>(docs)
        .find({ replies: { $exists: true } })
        .project<{ _id: string; replies?: Record<string, Partial<StoredReply>> }>({ replies: 1 })
        .toArray()) {
        for (const [key, r] of Object.entries(d.replies ?? {})) {
          const where = `${docs} ${d._id}`;
          if (typeof r?.type !== 'string' || typeof r.data !== 'object' || r.data === null)
            violations.push(`${where}: reply of command ${commandIdOfKey(key)} is not {type, data}`);
          answered.push({
            where,
            commandId: commandIdOfKey(key),
            sagaId: r?.sagaId,
            type: `${service}.${r?.type ?? ''}`,
          });
        }
      }
    }
    // sagaId + type -> the distinct commands that answered it; command id -> its reply's type.
    const steps = new Map<string, Set<string>>();
    const replyOf = new Map<string, { type: string; where: string }>();
    for (const a of answered) {
      const seen = replyOf.get(a.commandId);
      if (seen && seen.type !== a.type)
        duplicate(
          `command ${a.commandId}: two replies, ${seen.type} (${seen.where}) and ${a.type} (${a.where})`,
        );
      else if (!seen) replyOf.set(a.commandId, { type: a.type, where: a.where });
      if (!a.sagaId || !sagaIds.has(a.sagaId)) {
        if (whole && !(a.sagaId && anySaga.has(a.sagaId)))
          violations.push(`${a.where}: command ${a.commandId} for unknown saga ${a.sagaId ?? '(none)'}`);
        continue;
      }
      if ((forwardEffects as readonly string[]).includes(a.type)) {
        const key = `${a.sagaId} ${a.type}`;
        if (!steps.has(key)) steps.set(key, new Set());
        steps.get(key)!.add(a.commandId);
      }
    }
    for (const [key, commands] of steps) {
      const n = commands.size;
      if (n > 1) {
        const [sagaId, type] = key.split(' ');
        duplicate(`saga ${sagaId}: ${n} distinct commands answered ${type} (the step ran ${n} times)`);
      }
    }
  }

  return { sagas: sagas.length, terminal, duplicateEffects, violations, byStatus };
}

async function byId(db: Db, collection: string): Promise<Map<string, EffectRow>> {
  const rows = await db.collection<EffectRow>(collection).find({}).toArray();
  return new Map(rows.map((r) => [r._id, r]));
}

/** Same SKU twice in an order is one hold of the summed quantity (as the inventory service does). */
function mergeItems(items: Array<{ sku: string; qty: number }>): Map<string, number> {
  const bySku = new Map<string, number>();
  for (const { sku, qty } of items) bySku.set(sku, (bySku.get(sku) ?? 0) + qty);
  return bySku;
}

/** The saga's amount, computed as the order machine does. */
function orderAmount(items: Array<{ qty: number; unitPrice: number }>): number {
  return Math.round(items.reduce((sum, i) => sum + i.qty * i.unitPrice, 0) * 100) / 100;
}

function sameMoney(a: number | undefined, b: number): boolean {
  return a !== undefined && Math.abs(a - b) < 0.005;
}

export interface HistoryReport {
  sagas: number;
  transitions: number;
  /**
   * Revisions with no history entry. Each transition writes its entry in its own update, so there
   * is none unless an entry moved out of a long saga's document was lost.
   */
  gaps: number;
  /**
   * Transitions that did not start where the previous one ended (two writers interleaved), and sagas
   * whose context, rebuilt from their history entries' changes, is not the context on the document.
   */
  violations: string[];
  /** Sagas whose last entry's context was rebuilt and compared with the document's. */
  contextsChecked: number;
}

type HistoryRow = StoredHistoryEntry;

/** JSON with the keys of every object sorted: two contexts that differ only in key order are one. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * One saga never runs two transitions at once: its history must be one chain, each transition starting
 * in the state the previous one ended in, with revisions unique and never beyond the document's own
 * revision. The history is read where the store keeps it: on the saga's document, and in
 * `saga_history` for the entries a long saga moved out (an entry in both places counts once). The
 * context its entries rebuild (they store changes, history-context.ts) at the saga's revision must
 * be the document's, which the same write set.
 */
export async function checkSagaHistory(
  db: Db,
  sagaFilter: Record<string, unknown> = {},
): Promise<HistoryReport> {
  type Saga = { _id: string; rev: number; context: unknown; history?: Record<string, HistoryRow> };
  const sagas = await db
    .collection<Saga>('sagas')
    .find(sagaFilter as Filter<Saga>)
    .project<Saga>({ _id: 1, rev: 1, context: 1, history: 1 })
    .toArray();
  const revOf = new Map(sagas.map((s) => [s._id, s.rev]));
  const moved = await db
    .collection<HistoryRow>('saga_history')
    .find({})
    .project<HistoryRow>({ _id: 0 })
    .toArray();
  const byKey = new Map<string, HistoryRow>();
  for (const e of [...moved, ...sagas.flatMap((s) => Object.values(s.history ?? {}))])
    byKey.set(`${e.sagaId} ${e.rev}`, e);
  const entries = [...byKey.values()].sort((a, b) =>
    a.sagaId === b.sagaId ? a.rev - b.rev : a.sagaId < b.sagaId ? -1 : 1,
  );
  // A saga whose last revisions have no entry at all has gaps too.
  let missingAtEnd = 0;
  const lastRev = new Map<string, number>();
  for (const e of entries) lastRev.set(e.sagaId, e.rev);
  for (const s of sagas) missingAtEnd += Math.max(0, s.rev - (lastRev.get(s._id) ?? 0));
  const violations: string[] = [];
  let gaps = 0;
  let transitions = 0;
  let previous: (typeof entries)[number] | undefined;
  for (const e of entries) {
    const rev = revOf.get(e.sagaId);
    if (rev === undefined) continue;
    transitions++;
    if (e.rev > rev)
      violations.push(`saga ${e.sagaId}: history has rev ${e.rev} beyond the saga's rev ${rev}`);
    const sameSaga = previous?.sagaId === e.sagaId;
    const expectedRev = sameSaga ? previous!.rev + 1 : 1;
    if (sameSaga && e.rev === previous!.rev) {
      violations.push(`saga ${e.sagaId}: two history entries for rev ${e.rev}`);
    } else if (e.rev !== expectedRev) {
      gaps += e.rev - expectedRev;
    } else if (sameSaga && e.from !== previous!.to) {
      violations.push(
        `saga ${e.sagaId}: rev ${e.rev} starts in ${e.from ?? 'none'} but rev ${previous!.rev} ended in ${previous!.to ?? 'none'}`,
      );
    }
    previous = e;
  }
  let contextsChecked = 0;
  const bySaga = new Map<string, HistoryRow[]>();
  for (const e of entries) {
    const list = bySaga.get(e.sagaId);
    if (list) list.push(e);
    else bySaga.set(e.sagaId, [e]);
  }
  for (const s of sagas) {
    const last = withContexts(bySaga.get(s._id) ?? []).at(-1);
    if (last?.rev !== s.rev || !('context' in last)) continue;
    contextsChecked++;
    if (canonical(last.context) !== canonical(s.context))
      violations.push(`saga ${s._id}: the context its history rebuilds at rev ${s.rev} is not the saga's`);
  }
  return { sagas: sagas.length, transitions, gaps: gaps + missingAtEnd, violations, contextsChecked };
}
