import { z } from 'zod';

const country = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code such as FR');

/** What a caller sends to start an order (POST /v1/sagas/order-fulfillment). */
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
        qty: z.number().int().positive().max(1000),
        unitPrice: z.number().nonnegative().max(1_000_000),
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(100),
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
