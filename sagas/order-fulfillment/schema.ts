import { z } from 'zod';

const country = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code such as FR');

/** Bounds on an order: units per line, the price of one unit, and the total the payment step charges. */
export const maxQuantity = 1000;
export const maxUnitPrice = 1_000_000;
export const maxOrderTotal = 1_000_000_000;
const maxLines = 100;

/** The order's total as the saga charges it: every line, rounded to cents. */
const orderTotal = (items: ReadonlyArray<{ qty: number; unitPrice: number }>): number =>
  Math.round(items.reduce((sum, i) => sum + i.qty * i.unitPrice, 0) * 100) / 100;

/** What a caller sends to start an order (POST /v1/saga-types/order-fulfillment/sagas). */
export const OrderInput = z.object({
  orderId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64')
    .optional()
    .describe('business id of the order; defaults to the saga id'),
  customerId: z.string().min(1).max(64),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .default('USD'),
  items: z
    .array(
      z.object({
        sku: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -'),
        qty: z
          .number()
          .int({ abort: true })
          .positive({ abort: true })
          .max(maxQuantity, `at most ${maxQuantity.toLocaleString('en')}`),
        // Finite, non-negative, bounded and in whole cents: the total is charged rounded to cents.
        unitPrice: z
          .number()
          .nonnegative({ abort: true })
          .max(maxUnitPrice, { abort: true, message: `at most ${maxUnitPrice.toLocaleString('en')}` })
          .multipleOf(0.01, 'at most 2 decimal places'),
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(maxLines)
    .refine((items) => orderTotal(items) <= maxOrderTotal, {
      // A line already at fault makes the total meaningless: say only what is wrong with it.
      when: (payload) => payload.issues.length === 0,
      message: `the order's total (the sum of qty × unitPrice) is over the most an order may charge (${maxOrderTotal.toLocaleString('en')})`,
    }),
  payment: z.object({
    /** A payment-method token from the PSP; never a raw card number. */
    token: z.string().min(1).max(128),
    bin: z
      .string()
      .regex(/^\d{6,8}$/, '6 to 8 digits')
      .optional()
      .describe("the card's BIN (first digits), as the PSP reports it; known test tokens imply one"),
    cardCountry: country.optional().describe('country that issued the card'),
  }),
  customer: z
    .object({
      createdAt: z.iso.datetime().optional().describe('when the account was created; absent for guests'),
      email: z.email().max(254).optional(),
      ipCountry: country.optional().describe('country of the IP address the order came from'),
    })
    .optional()
    .describe('what the shop knows about the buyer, for the fraud check'),
  billingCountry: country.optional().describe('defaults to the shipping country'),
  fraudTimeoutPolicy: z
    .enum(['approve', 'compensate'])
    .optional()
    .describe('no fraud verdict within the step timeout: capture anyway, or compensate (default)'),
  reviewTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(30 * 24 * 3_600_000, 'at most 30 days')
    .optional()
    .describe('how long a manual fraud review may wait for a person (default 24 hours)'),
  reviewTimeoutPolicy: z
    .enum(['approve', 'reject'])
    .optional()
    .describe('nobody reviewed the order by the review deadline: capture anyway, or compensate (default)'),
  shippingAddress: z.object({
    name: z.string().min(1).max(200),
    line1: z.string().min(1).max(200),
    city: z.string().min(1).max(100),
    postalCode: z.string().min(1).max(20),
    country,
  }),
});
export type OrderInput = z.infer<typeof OrderInput>;

export type OrderItem = OrderInput['items'][number];

/** The body of the review signals (`approve-review`, `reject-review`): the reviewer's note. */
export const ReviewNote = z.object({
  note: z.string().trim().max(500, 'at most 500 characters').describe("why, for the saga's timeline"),
});
export type ReviewNote = z.infer<typeof ReviewNote>;

/** The signals of an order waiting in `reviewing`: a person's decision on a grey-zone fraud score. */
export const reviewSignals = {
  'approve-review': ReviewNote,
  'reject-review': ReviewNote,
};
