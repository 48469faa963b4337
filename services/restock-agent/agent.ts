import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  contract,
  defineReactor,
  type Envelope,
  type Kept,
  type Reaction,
  type ReactionContext,
  type ReactorDefinition,
  type ScheduleContext,
  ValidationError,
} from 'jetsaga';
import { loadRestockAgentConfig, type RestockAgentConfig } from './agent-config.ts';
import { restockMetrics } from './agent-metrics.ts';
import {
  agentInbox,
  closeRecommendation,
  demandOf,
  firstSight,
  openRecommendation,
  purgeOldRecords,
  type SaleLine,
  type SkuDoc,
  setupAgentStore,
  skus,
  type StoredForecast,
} from './agent-store.ts';
import { type Artifact, loadArtifact } from './artifact.ts';
import { type Recommendation, recommend } from './model.ts';

const Level = z.object({ sku: z.string().min(1), available: z.number() });
const Committed = z.object({
  orderId: z.string().min(1),
  items: z.array(z.object({ sku: z.string().min(1), qty: z.number().int().positive() })),
  levels: z.array(Level).optional(),
});
const OutOfStock = z.object({ orderId: z.string().min(1), sku: z.string().optional() });
const Ended = z.object({
  sagaType: z.string().min(1),
  status: z.string(),
  reason: z.string().nullable().optional(),
  output: z.record(z.string(), z.unknown()).optional(),
});
const RestockOutcome = z.object({ recommendationId: z.string().nullable(), sku: z.string().min(1) });

/** What the agent publishes: `restock.recommended`. */
export const restockAgentEvents = {
  recommended: contract(
    z.object({
      recommendationId: z.string().describe('the idempotency key of the restock saga it started'),
      sagaId: z.string().describe('the restock saga'),
      sku: z.string(),
      qty: z.number().int().positive().describe('units to order: up to the order-up-to level'),
      available: z.number().describe('stock on hand when it decided'),
      reorderPoint: z.number(),
      orderUpTo: z.number(),
      forecast: z
        .object({ mean: z.number(), low: z.number(), high: z.number(), days: z.number().int() })
        .describe('demand over the lead time (days) with its 90% interval'),
      reasons: z.array(z.string()).describe('why, in words: trend, weekly pattern, stockouts, lead time'),
      modelVersion: z.string(),
    }),
    { description: "a SKU's stock fell to its reorder point: the restock it ordered and why" },
  ),
};

function parse<T extends z.ZodType>(schema: T, event: Envelope): z.output<T> {
  const r = schema.safeParse(event.data);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
  throw new ValidationError(
    `${event.type}: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`,
    issues,
  );
}

export interface RestockAgentOptions {
  /** Settings that win over the environment's (tests, the demo). */
  config?: Partial<RestockAgentConfig>;
  /** A model other than the shipped one. */
  artifact?: Artifact;
}

/**
 * The `restock-agent` reactor: an inventory optimisation agent. It learns each SKU's demand from the
 * inventory service's sales (`inventory.committed`, which also carries the SKUs' stock once the sale
 * is settled) and stockouts (`inventory.out-of-stock`); on a schedule, and when a sale finds the
 * SKU's forecast older than the period, it forecasts the demand over the supplier's lead time with
 * the shipped model (`npm run restock:train`) and keeps the SKU's reorder point. When a sale leaves a
 * SKU's stock at or below it, with no recommendation open for the SKU, it opens one, starts a
 * `restock` saga for the quantity up to the order-up-to level (idempotently, keyed by the
 * recommendation) and publishes `restock.recommended`. It closes the recommendation when it sees
 * the saga's `saga.ended`, whatever the outcome: a completed restock raised the stock; a refused,
 * late or rejected one leaves the SKU open to a new recommendation at its next sale.
 *
 * Exactly once: the host records each event under its id, the recommendation's id is derived from
 * the event that opened it (a redelivery finds it open and starts the same saga), and a SKU holds at
 * most one open recommendation, moved by conditional updates. One event opens at most one
 * recommendation (a reaction is one event): another SKU of the same order that is low too is
 * recommended at its next sale. The schedule forecasts and keeps reorder points; it publishes
 * nothing, so every recommendation is the reaction to the sale that crossed the reorder point.
 */
export function restockAgent(opts: RestockAgentOptions = {}): ReactorDefinition {
  // Read when the role starts (setup), so a process can set its environment before (the demo does).
  let loaded: RestockAgentConfig | undefined;
  const cfg = (): RestockAgentConfig => (loaded ??= loadRestockAgentConfig(process.env, opts.config ?? {}));
  let artifact: Artifact | undefined = opts.artifact;
  const dayOf = (at: Date) => Math.floor(at.getTime() / cfg().dayMs);
  const model = () => {
    artifact ??= loadArtifact();
    return { model: artifact.model, modelVersion: artifact.version };
  };

  /** The SKU's daily demand over the history window up to `today`, and its stockout days. */
  async function history(
    db: ReactionContext['db'],
    doc: SkuDoc,
    today: number,
    extra: { day: number; qty: number } | null,
  ) {
    const from = Math.max(doc.firstDay ?? today, today - cfg().historyDays + 1);
    const { demand, stockoutDays } = await demandOf(db, doc._id, from, today, extra);
    // No promotions are planned in the reference shop: the model reads none ahead.
    const promo = new Array<boolean>(demand.length + cfg().leadTimeDays + 60).fill(false);
    // Day 0 of the epoch was a Thursday (3, Monday being 0): weekdays mean something in real days only.
    const firstWeekday = cfg().dayMs === 86_400_000 ? (from + 3) % 7 : undefined;
    return { demand, promo, stockoutDays, ...(firstWeekday === undefined ? {} : { firstWeekday }) };
  }

  /** Forecasts a SKU now and keeps its levels; null while its history is too short. */
  async function refresh(
    db: ReactionContext['db'],
    doc: SkuDoc,
    today: number,
    extra: { day: number; qty: number } | null,
  ): Promise<{ forecast: StoredForecast; rec: Recommendation } | null> {
    if (doc.firstDay === undefined || today - doc.firstDay + 1 < cfg().minHistoryDays) return null;
    const h = await history(db, doc, today, extra);
    const m = model();
    const stock = {
      onHand: doc.available ?? 0,
      onOrder: doc.open?.qty ?? 0,
      leadTimeDays: cfg().leadTimeDays,
    };
    const rec = recommend(h, stock, m);
    const forecast: StoredForecast = {
      at: new Date(),
      reorderPoint: rec.reorderPoint,
      orderUpTo: rec.orderUpTo,
      mean: rec.forecast.mean,
      low: rec.forecast.low,
      high: rec.forecast.high,
      meanAbsError: rec.meanAbsError,
      modelVersion: rec.modelVersion,
      days: stock.leadTimeDays,
    };
    await skus(db).updateOne({ _id: doc._id }, { $set: { forecast, available: stock.onHand } });
    restockMetrics.forecastError.set({ sku: doc._id }, forecast.meanAbsError);
    restockMetrics.reorderPoint.set({ sku: doc._id }, forecast.reorderPoint);
    return { forecast, rec };
  }

  const stale = (f: StoredForecast | undefined, now: number) =>
    !f || now - f.at.getTime() >= cfg().forecastEveryMs;

  async function onSale(event: Envelope, ctx: ReactionContext): Promise<Reaction | Kept> {
    const d = parse(Committed, event);
    const at = new Date(event.occurredAt);
    const day = dayOf(at);
    const lines = new Map<string, number>();
    for (const { sku, qty } of d.items) lines.set(sku, (lines.get(sku) ?? 0) + qty);
    const record = { kind: 'sale', day, lines: [...lines].map(([sku, qty]): SaleLine => ({ sku, qty })) };
    const levels = d.levels ?? [];
    if (levels.length === 0) return { record };
    // The sale's own reading of the stock decides; the SKU's document holds the forecast and the
    // open recommendation (one read for the order's SKUs; a SKU seen for the first time is added).
    const found = await skus(ctx.db)
      .find({ _id: { $in: levels.map((l) => l.sku) } })
      .toArray();
    const byId = new Map(found.map((doc) => [doc._id, doc]));
    const docs: SkuDoc[] = [];
    for (const l of levels) {
      const doc = byId.get(l.sku) ?? (await firstSight(ctx.db, l.sku, day));
      docs.push({ ...doc, available: l.available });
    }
    const recommendationIds = new Map(levels.map((l) => [l.sku, recommendationIdOf(event.id, l.sku)]));
    for (const doc of docs) {
      const id = recommendationIds.get(doc._id)!;
      const extra = { day, qty: lines.get(doc._id) ?? 0 };
      if (doc.open) {
        // Open for another recommendation: its saga is still under way.
        if (doc.open.recommendationId !== id) continue;
        // Opened by this very event (a redelivery after a crash): finish what it started.
        const now = await refresh(ctx.db, doc, day, extra);
        const again = now && (await open(ctx, doc, id, doc.open.qty, now.rec, now.forecast));
        if (again) return { ...again, record };
        continue;
      }
      // Cheap on most sales: the stock against the kept reorder point, no history read; a stale
      // forecast is made again first, and serves the decision too.
      let now = stale(doc.forecast, Date.now()) ? await refresh(ctx.db, doc, day, extra) : null;
      const forecast = now?.forecast ?? doc.forecast;
      if (!forecast || (doc.available ?? 0) > forecast.reorderPoint) continue;
      now ??= await refresh(ctx.db, doc, day, extra);
      if (!now?.rec.restock) continue;
      const reaction = await open(ctx, doc, id, now.rec.qty, now.rec, now.forecast);
      if (reaction) return { ...reaction, record };
    }
    return { record };
  }

  /**
   * Opens the recommendation (or finds it open: the same event again), starts its restock saga once
   * and says so; null when another recommendation holds the SKU.
   */
  async function open(
    ctx: ReactionContext,
    doc: SkuDoc,
    recommendationId: string,
    qty: number,
    rec: Recommendation,
    forecast: StoredForecast,
  ): Promise<Reaction | null> {
    const data = {
      recommendationId,
      sku: doc._id,
      qty,
      available: doc.available ?? 0,
      reorderPoint: rec.reorderPoint,
      orderUpTo: rec.orderUpTo,
      forecast: { mean: forecast.mean, low: forecast.low, high: forecast.high, days: forecast.days },
      reasons: rec.reasons,
      modelVersion: rec.modelVersion,
    };
    const made = await openRecommendation(ctx.db, {
      _id: recommendationId,
      sku: doc._id,
      qty,
      data,
      openedAt: new Date(),
    });
    if (made.state === 'held') return null;
    const input = made.data as typeof data;
    // Once per recommendation, whoever asks and however often (also after a crash right here).
    const { sagaId, created } = await ctx.startSaga(
      'restock',
      {
        recommendationId,
        purchaseOrderId: recommendationId,
        sku: doc._id,
        qty: input.qty,
        unitCost: cfg().unitCost,
        supplier: cfg().supplier,
        leadTimeMs: cfg().leadTimeDays * cfg().dayMs,
        recommendation: {
          reasons: input.reasons,
          available: input.available,
          reorderPoint: input.reorderPoint,
          orderUpTo: input.orderUpTo,
          forecast: input.forecast,
          modelVersion: input.modelVersion,
        },
      },
      { idempotencyKey: recommendationId },
    );
    if (made.state === 'open') {
      await skus(ctx.db).updateOne(
        { _id: doc._id, 'open.recommendationId': recommendationId },
        { $set: { 'open.sagaId': sagaId } },
      );
    }
    if (created)
      ctx.log.info(
        {
          sku: doc._id,
          qty: input.qty,
          available: input.available,
          reorderPoint: input.reorderPoint,
          restockSagaId: sagaId,
        },
        'restock recommended',
      );
    return {
      type: 'recommended',
      data: { ...input, sagaId },
      onRecorded: () => restockMetrics.recommendations.inc({ event: 'opened' }),
    };
  }

  async function onEnded(event: Envelope, ctx: ReactionContext): Promise<Kept | null> {
    const d = parse(Ended, event);
    if (d.sagaType !== 'restock') return null;
    const out = RestockOutcome.safeParse(d.output ?? {});
    if (!out.success || !out.data.recommendationId) return null;
    const { recommendationId, sku } = out.data;
    const closed = await closeRecommendation(ctx.db, sku, {
      recommendationId,
      status: d.status,
      reason: d.reason ?? null,
      at: new Date(event.occurredAt),
    });
    if (closed) ctx.log.info({ sku, recommendationId, status: d.status }, 'restock recommendation closed');
    return {
      record: { kind: 'closed', sku, recommendationId, status: d.status },
      onRecorded: () => restockMetrics.recommendations.inc({ event: `closed-${d.status}` }),
    };
  }

  async function forecastAll(ctx: ScheduleContext): Promise<void> {
    const today = dayOf(ctx.dueAt);
    const now = ctx.dueAt.getTime();
    for await (const doc of skus(ctx.db).find({})) {
      if (stale(doc.forecast, now)) await refresh(ctx.db, doc, today, null);
    }
    // The demand window, and never less than a redelivery or a dead letter's replay can reach.
    const keepMs = Math.max(
      cfg().historyDays * cfg().dayMs,
      ctx.config.streamMaxAgeMs + ctx.config.dlqMaxAgeMs,
    );
    for (let round = 0; round < 10; round++)
      if ((await purgeOldRecords(ctx.db, new Date(now - keepMs), 500)) < 500) break;
  }

  return defineReactor({
    name: 'restock-agent',
    description:
      "forecasts each SKU's demand; recommends and starts a restock when stock falls to its reorder point",
    source: 'restock',
    on: ['inventory.committed', 'inventory.out-of-stock', 'saga.ended'],
    emits: restockAgentEvents,
    inbox: agentInbox,
    // Only its own sagas' ends: the others are acked unrecorded (no write per order saga).
    ignore: (event) => event.type === 'saga.ended' && event.sagaType !== 'restock',
    // The sale records are the demand history: the agent deletes them itself past its window.
    keepRecords: true,
    async setup(ctx) {
      loaded = undefined;
      cfg();
      await setupAgentStore(ctx.db);
      const m = model();
      ctx.log.info({ model: m.modelVersion, ...cfg() }, 'restock agent started');
    },
    async react(event, ctx) {
      if (event.type === 'inventory.committed') return onSale(event, ctx);
      if (event.type === 'saga.ended') return onEnded(event, ctx);
      const d = parse(OutOfStock, event);
      if (!d.sku) return null;
      return { record: { kind: 'stockout', day: dayOf(new Date(event.occurredAt)), sku: d.sku } };
    },
    // Looks every minute; each SKU's forecast is computed again once it is JETSAGA_RESTOCK_FORECAST_EVERY_MS old.
    schedules: [{ name: 'forecast', everyMs: 60_000, run: forecastAll }],
  });
}

/** A recommendation's id: from the event that opened it and the SKU, the same on every redelivery. */
export function recommendationIdOf(eventId: string, sku: string): string {
  return `rec-${createHash('sha256').update(`${eventId}:${sku}`).digest('hex').slice(0, 24)}`;
}
