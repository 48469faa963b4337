import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64');

/** Bounds on a purchase: units, the cost of one unit, and how long a delivery or an approval may take. */
export const maxRestockQty = 100_000;
export const maxUnitCost = 1_000_000;
const day = 24 * 3_600_000;

/** The value above which a restock waits for a person's approval when the input does not say. */
export const defaultApprovalThreshold = 10_000;

/** What a caller (the restock agent, or a person) sends to start a restock (POST /v1/saga-types/restock/sagas). */
export const RestockInput = z.object({
  purchaseOrderId: id
    .optional()
    .describe('business id of the purchase order (and of its receipt); defaults to the saga id'),
  recommendationId: id
    .optional()
    .describe(
      "the agent's recommendation this restock acts on: saga.ended carries it back, so the agent can close it",
    ),
  sku: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -'),
  qty: z
    .number()
    .int({ abort: true })
    .positive({ abort: true })
    .max(maxRestockQty, `at most ${maxRestockQty.toLocaleString('en')}`),
  unitCost: z
    .number()
    .nonnegative({ abort: true })
    .max(maxUnitCost, { abort: true, message: `at most ${maxUnitCost.toLocaleString('en')}` })
    .multipleOf(0.01, 'at most 2 decimal places'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .default('USD'),
  supplier: id.describe('the supplier to order from'),
  leadTimeMs: z
    .number()
    .int()
    .min(100)
    .max(180 * day, 'at most 180 days')
    .describe(
      'the order must be confirmed and delivered within this long after it is placed, or it is cancelled',
    ),
  approvalThreshold: z
    .number()
    .nonnegative()
    .default(defaultApprovalThreshold)
    .describe('a purchase worth more than this (qty × unitCost) waits for approve-restock or reject-restock'),
  approvalTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(30 * day, 'at most 30 days')
    .optional()
    .describe('how long a purchase may wait for approval (default 24 hours)'),
  approvalTimeoutPolicy: z
    .enum(['approve', 'reject'])
    .optional()
    .describe('nobody decided by the approval deadline: place the order anyway, or drop it (default)'),
  recommendation: z
    .object({
      reasons: z.array(z.string().max(300)).max(20).describe('why, in words'),
      available: z.number().optional(),
      reorderPoint: z.number().optional(),
      orderUpTo: z.number().optional(),
      forecast: z
        .object({ mean: z.number(), low: z.number(), high: z.number(), days: z.number().int() })
        .optional()
        .describe('demand over the lead time (days) with its interval'),
      modelVersion: z.string().max(100).optional(),
    })
    .optional()
    .describe("what the restock agent saw and why it ordered: the inspector shows it on the saga's start"),
});
export type RestockInput = z.infer<typeof RestockInput>;

/** The body of the approval signals (`approve-restock`, `reject-restock`): the approver's note. */
export const ApprovalNote = z.object({
  note: z.string().trim().max(500, 'at most 500 characters').describe("why, for the saga's timeline"),
});
export type ApprovalNote = z.infer<typeof ApprovalNote>;

/** The signals of a restock waiting in `awaitingApproval`: a person's decision on a large purchase. */
export const approvalSignals = {
  'approve-restock': ApprovalNote,
  'reject-restock': ApprovalNote,
};
