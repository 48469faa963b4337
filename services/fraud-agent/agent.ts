import type { Db } from 'mongodb';
import { z } from 'zod';
import { contract, type Envelope, type Reaction, type ReactorDefinition, ValidationError } from 'jetsaga';
import { DAY, type History, type PaymentFacts } from './facts.ts';
import type { LlmReviewer } from './llm-reviewer.ts';
import { fraudMetrics } from './metrics.ts';
import type { Scorer } from './scorer.ts';
import { VelocityStore } from './velocity-store.ts';

/**
 * The fraud agent: reacts to every `payment.authorized` with `fraud.approved`, `fraud.flagged`
 * or, for a score in the manual review band that the LLM reviewer did not settle, `fraud.review`
 * (a person decides). Per payment: load the customer's recent payments (sliding windows in
 * MongoDB), score with the shipped model, ask the LLM reviewer about borderline scores
 * when one is configured, record the payment for later windows. The host keeps one
 * verdict per event id (`fraud_verdicts`) and republishes it on redelivery.
 *
 * Safe to run again for the same payment (the host does not read its inbox before a
 * first delivery): the history is read-only and excludes the payment itself, and the
 * payment is recorded with `$setOnInsert` under its payment id, so a second run counts
 * nothing twice in anyone's windows; only the first verdict recorded is published, and
 * only it is counted in the verdict metrics. A duplicate may cost a second LLM review;
 * a redelivery does not (the host reads the verdict first then).
 */

const country = z.string().regex(/^[A-Z]{2}$/);
/** What the payment service says about an authorization; older events carry only the first fields. */
export const PaymentAuthorizedData = z.object({
  orderId: z.string().min(1),
  paymentId: z.string().min(1),
  amount: z.number().nonnegative(),
  currency: z.string().length(3).default('USD'),
  customerId: z.string().min(1).optional(),
  card: z
    .object({
      fingerprint: z.string().min(1).optional(),
      bin: z.string().nullable().optional(),
      country: country.nullable().optional(),
      /** payment.authorized v2; the host upcasts a v1 event (from its BIN). */
      funding: z.enum(['credit', 'debit', 'prepaid', 'unknown']).optional(),
    })
    .optional(),
  billingCountry: country.nullable().optional(),
  shippingCountry: country.nullable().optional(),
  shippingAddressKey: z.string().nullable().optional(),
  ipCountry: country.nullable().optional(),
  customerCreatedAt: z.iso.datetime().nullable().optional(),
  email: z.string().nullable().optional(),
  itemCount: z.number().int().nonnegative().optional(),
});
export type PaymentAuthorizedData = z.output<typeof PaymentAuthorizedData>;

export function factsOf(env: Envelope): PaymentFacts & {
  orderId: string;
  cardFunding: string;
  /** As the authorization gave them (no stand-ins): what a verdict passes on to its readers. */
  given: { customerId: string | null; cardFingerprint: string | null };
} {
  const parsed = PaymentAuthorizedData.safeParse(env.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    throw new ValidationError(
      `payment.authorized: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  const d = parsed.data;
  const customerId = d.customerId ?? `order:${d.orderId}`;
  const shippingCountry = d.shippingCountry ?? d.billingCountry ?? 'ZZ';
  return {
    orderId: d.orderId,
    paymentId: d.paymentId,
    customerId,
    at: Date.parse(env.occurredAt),
    amount: d.amount,
    currency: d.currency,
    cardKey: d.card?.fingerprint ?? `unknown-card:${customerId}`,
    bin: d.card?.bin ?? null,
    cardCountry: d.card?.country ?? null,
    billingCountry: d.billingCountry ?? shippingCountry,
    shippingCountry,
    shippingKey: d.shippingAddressKey ?? `unknown-address:${customerId}`,
    ipCountry: d.ipCountry ?? null,
    accountCreatedAt: d.customerCreatedAt ? Date.parse(d.customerCreatedAt) : null,
    email: d.email ?? null,
    itemCount: d.itemCount ?? 1,
    cardFunding: d.card?.funding ?? 'unknown',
    given: { customerId: d.customerId ?? null, cardFingerprint: d.card?.fingerprint ?? null },
  };
}

export interface FraudAgentDeps {
  scorer: Scorer;
  reviewer?: LlmReviewer;
  /** Scores in [low, high) go to the reviewer. */
  band: [number, number];
  /** Scores in [low, high) that the LLM reviewer did not settle go to a person; none: no manual review. */
  reviewBand?: [number, number] | undefined;
}

export interface Verdict {
  orderId: string;
  paymentId: string;
  score: number;
  threshold: number;
  reasons: string[];
  modelVersion: string;
  latencyMs: number;
  reviewer: 'model' | 'llm';
  /** The customer and card of the payment, when the authorization named them. */
  customerId?: string;
  cardFingerprint?: string;
}

/** The data of `fraud.approved` and `fraud.flagged`: a Verdict. */
export const VerdictData = z.object({
  orderId: z.string().min(1),
  paymentId: z.string().min(1),
  score: z.number().describe('fraud probability from the model, 0..1'),
  threshold: z.number(),
  reasons: z.array(z.string()).describe('the features that moved the score most, in words'),
  modelVersion: z.string(),
  latencyMs: z.number().nonnegative(),
  reviewer: z.enum(['model', 'llm']),
  // Added after v1 as optional fields: older verdicts lack them, older readers ignore them. They let
  // reactors act on a verdict without the payment it answers (notifications, payment-blocking).
  customerId: z
    .string()
    .min(1)
    .optional()
    .describe("the payment's customer, when the authorization named one"),
  cardFingerprint: z
    .string()
    .min(1)
    .optional()
    .describe("the payment's card fingerprint (a hash of the PSP token), when the authorization gave one"),
});

/** At most this many of the customer's recent payments travel with a `fraud.review`. */
export const maxRecentPayments = 10;

/**
 * One of the customer's earlier payments, as the agent saw it when it scored this one. Carried in
 * `fraud.review` so that the reviewer sees it without anyone reading the agent's own collections.
 */
export const RecentPayment = z.object({
  paymentId: z.string(),
  at: z.iso.datetime(),
  amountUsd: z.number(),
  sameCard: z.boolean().describe('paid with the card of the payment under review'),
  sameAddress: z.boolean().describe('shipped to the address of the payment under review'),
  ipCountry: z.string().nullable(),
  shippingCountry: z.string(),
});
export type RecentPayment = z.infer<typeof RecentPayment>;

/** The data of `fraud.review`: the verdict so far, and what a person needs to decide. */
export const ReviewData = VerdictData.extend({
  customerId: z.string().min(1),
  amount: z.number().nonnegative(),
  currency: z.string().length(3),
  reviewBand: z.tuple([z.number(), z.number()]).describe('the band [low, high) the score fell in'),
  recentPayments: z
    .array(RecentPayment)
    .max(maxRecentPayments)
    .describe("the customer's latest payments before this one (30 days), newest first"),
});
export type ReviewData = z.infer<typeof ReviewData>;

/** What the fraud agent publishes (`fraud.<reaction>`), each at its current version. */
export const fraudVerdictContracts = {
  approved: contract(VerdictData, { description: 'the payment may be captured' }),
  flagged: contract(VerdictData, { description: 'the payment looks fraudulent: the saga compensates' }),
  review: contract(ReviewData, {
    description: 'the score is in the manual review band: the saga waits for a person (or its deadline)',
  }),
};

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export function fraudAgentReactor(deps: FraudAgentDeps): ReactorDefinition {
  // One store per database, kept: it batches the recording of concurrent verdicts' payments.
  let velocity: VelocityStore | null = null;
  const velocityOf = (db: Db) => (velocity?.db === db ? velocity : (velocity = new VelocityStore(db)));
  return {
    name: 'fraud-agent',
    source: 'fraud',
    on: 'payment.authorized',
    emits: fraudVerdictContracts,
    inbox: 'fraud_verdicts',
    idSuffix: 'verdict',
    async setup({ db }) {
      await velocityOf(db).setup();
    },
    async react(env, ctx): Promise<Reaction> {
      const t0 = performance.now();
      const store = velocityOf(ctx.db);
      const facts = factsOf(env);
      // The payment is recorded while its history is read: the history leaves it out (its own
      // payment id, its own customer on the card), so the two need not wait for each other.
      const [history] = await Promise.all([store.history(facts), store.record(facts)]);
      const s = deps.scorer.score(facts, history);
      fraudMetrics.inference.observe(s.inferenceMs / 1000);
      fraudMetrics.score.observe(s.score);
      let flagged = s.flagged;
      let reviewer: Verdict['reviewer'] = 'model';
      const reasons = [...s.reasons];
      const [low, high] = deps.band;
      if (deps.reviewer && s.score >= low && s.score < high) {
        const review = await deps.reviewer.review({
          score: round(s.score, 4),
          threshold: s.threshold,
          modelVersion: s.modelVersion,
          modelReasons: s.reasons,
          features: s.features,
          payment: reviewPayment(facts),
          recentHistory: recent(facts, history),
        });
        if (review.kind === 'decision') {
          fraudMetrics.llmCalls.inc({ result: review.decision });
          flagged = review.decision === 'flag';
          reviewer = 'llm';
          reasons.push(
            `LLM reviewer ${review.decision === 'flag' ? 'flagged' : 'approved'}: ${review.reason}`,
          );
        } else {
          fraudMetrics.llmCalls.inc({ result: review.cause });
          fraudMetrics.llmFallbacks.inc({ cause: review.cause });
          reasons.push(`LLM reviewer unavailable (${review.cause}: ${review.detail}); model verdict kept`);
          ctx.log.warn(
            { cause: review.cause, detail: review.detail },
            'LLM review failed; model verdict kept',
          );
        }
      }
      const verdict: Verdict = {
        orderId: facts.orderId,
        paymentId: facts.paymentId,
        score: round(s.score, 4),
        threshold: s.threshold,
        reasons,
        modelVersion: s.modelVersion,
        latencyMs: round(performance.now() - t0, 3),
        reviewer,
        ...(facts.given.customerId ? { customerId: facts.given.customerId } : {}),
        ...(facts.given.cardFingerprint ? { cardFingerprint: facts.given.cardFingerprint } : {}),
      };
      // The LLM reviewer's decision stands: only what the model alone decided goes to a person.
      const review =
        reviewer === 'model' &&
        deps.reviewBand !== undefined &&
        s.score >= deps.reviewBand[0] &&
        s.score < deps.reviewBand[1];
      if (review) {
        reasons.push(
          `score in the manual review band [${deps.reviewBand![0]}, ${deps.reviewBand![1]}): a person decides`,
        );
      }
      const outcome = review ? 'review' : flagged ? 'flagged' : 'approved';
      ctx.log.debug({ outcome, score: verdict.score, reasons }, 'fraud verdict');
      const data: Verdict | ReviewData = review
        ? {
            ...verdict,
            customerId: facts.customerId,
            amount: facts.amount,
            currency: facts.currency,
            reviewBand: deps.reviewBand!,
            recentPayments: recentPayments(facts, history),
          }
        : { ...verdict };
      return {
        type: outcome,
        data: { ...data },
        // The card's funding is not a model feature (yet): the reviewer sees it, and the record keeps
        // it for the next training set.
        record: {
          outcome,
          orderId: verdict.orderId,
          customerId: facts.customerId,
          score: verdict.score,
          cardFunding: facts.cardFunding,
        },
        // Counted when published for the first time: a duplicate's re-run is not a verdict.
        onRecorded: () => {
          fraudMetrics.verdicts.inc({ outcome, reviewer });
          fraudMetrics.decision.observe(verdict.latencyMs / 1000);
        },
      };
    },
  };
}

/** What the reviewer sees of the payment: no email address, only its domain. */
function reviewPayment(p: PaymentFacts & { cardFunding?: string }): Record<string, unknown> {
  return {
    amount: p.amount,
    currency: p.currency,
    billingCountry: p.billingCountry,
    shippingCountry: p.shippingCountry,
    ipCountry: p.ipCountry,
    cardBin: p.bin,
    cardCountry: p.cardCountry,
    cardFunding: p.cardFunding ?? 'unknown',
    accountAgeDays: p.accountCreatedAt === null ? null : round((p.at - p.accountCreatedAt) / DAY, 2),
    emailDomain: p.email?.split('@')[1] ?? null,
    itemCount: p.itemCount,
  };
}

/** The customer's latest payments before `p`, newest first, for a person reviewing it. */
function recentPayments(p: PaymentFacts, h: History): RecentPayment[] {
  return [...h.customer]
    .sort((a, b) => b.at - a.at)
    .slice(0, maxRecentPayments)
    .map((e) => ({
      paymentId: e.paymentId,
      at: new Date(e.at).toISOString(),
      amountUsd: e.amountUsd,
      sameCard: e.cardKey === p.cardKey,
      sameAddress: e.shippingKey === p.shippingKey,
      ipCountry: e.ipCountry,
      shippingCountry: e.shippingCountry,
    }));
}

function recent(p: PaymentFacts, h: History): Array<Record<string, unknown>> {
  return [...h.customer]
    .sort((a, b) => b.at - a.at)
    .slice(0, 10)
    .map((e) => ({
      minutesBefore: round((p.at - e.at) / 60_000, 1),
      amountUsd: e.amountUsd,
      sameCard: e.cardKey === p.cardKey,
      ipCountry: e.ipCountry,
      shippingCountry: e.shippingCountry,
      sameAddress: e.shippingKey === p.shippingKey,
    }));
}
