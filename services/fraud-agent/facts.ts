/**
 * What the fraud agent knows about one payment and about the customer's recent past.
 * Training (the synthetic generator) and serving (MongoDB) both produce these shapes and
 * hand them to the same `computeFeatures`, so the two cannot drift.
 */

export interface PaymentFacts {
  paymentId: string;
  customerId: string;
  /** Epoch ms of the authorization. */
  at: number;
  amount: number;
  currency: string;
  /** Card identity: a fingerprint of the PSP token, never a card number. */
  cardKey: string;
  bin: string | null;
  cardCountry: string | null;
  billingCountry: string;
  shippingCountry: string;
  /** A fingerprint of the shipping address, to notice a changed destination. */
  shippingKey: string;
  ipCountry: string | null;
  /** Epoch ms of the account's creation; null for guests and unknown accounts. */
  accountCreatedAt: number | null;
  email: string | null;
  itemCount: number;
}

/** One earlier payment of the customer, as the velocity store keeps it. */
export interface PastPayment {
  paymentId: string;
  at: number;
  amountUsd: number;
  cardKey: string;
  ipCountry: string | null;
  shippingCountry: string;
  shippingKey: string;
}

export interface History {
  /** The customer's payments in the 30 days before this one, any order. */
  customer: PastPayment[];
  /** How many other customers used the same card in the 24 hours before. */
  otherCustomersOnCard24h: number;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const historyWindowMs = 30 * DAY;
export const cardWindowMs = DAY;
/** Under this, a payment counts as "small" (card testers probe with small amounts). */
export const smallAmountUsd = 10;

/** Rough reference rates; a fraud model needs magnitudes, not a treasury's precision. */
const usdPer: Record<string, number> = {
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  CHF: 1.12,
  CAD: 0.73,
  AUD: 0.66,
  NZD: 0.6,
  JPY: 0.0067,
  SEK: 0.095,
  NOK: 0.093,
  DKK: 0.145,
  PLN: 0.25,
  BRL: 0.18,
  MXN: 0.055,
  INR: 0.012,
  CNY: 0.14,
};
export const toUsd = (amount: number, currency: string): number => amount * (usdPer[currency] ?? 1);

/**
 * Issuer risk tiers by BIN (the first digits of a card). A fraud team keeps this table
 * from its chargeback history; these prefixes are illustrative, and the synthetic data
 * draws its cards from the same tiers.
 */
export const binTiers = {
  /** Prepaid and virtual-card programmes: legitimate, but favoured by fraudsters. */
  prepaid: ['403035', '410039', '423223', '455701', '511563', '516732', '531106', '544927', '559666'],
  /** Ranges with a history of chargebacks far above the norm. */
  highRisk: ['404159', '414720', '426684', '450875', '485932', '520082', '527518', '548011'],
  /** Ordinary issuers (including the PSP test cards). */
  mainstream: [
    '424242',
    '400005',
    '411111',
    '431940',
    '453201',
    '476173',
    '492940',
    '510510',
    '520000',
    '535522',
    '542418',
    '555555',
    '601111',
    '371449',
    '378282',
  ],
} as const;
const prepaidBins = new Set<string>(binTiers.prepaid);
const highRiskBins = new Set<string>(binTiers.highRisk);

/** 0.1 ordinary issuer, 0.2 unknown, 0.5 prepaid, 0.9 high-risk range. */
export function binRisk(bin: string | null): number {
  if (!bin) return 0.2;
  const six = bin.slice(0, 6);
  if (highRiskBins.has(six)) return 0.9;
  if (prepaidBins.has(six)) return 0.5;
  return 0.1;
}

export const disposableEmailDomains = [
  'mailinator.com',
  'guerrillamail.com',
  '10minutemail.com',
  'yopmail.com',
  'trashmail.com',
  'tempmail.dev',
];
const disposable = new Set(disposableEmailDomains);

/** -1 unknown, 0 ordinary, 0.5 a machine-looking local part, 1 a disposable domain. */
export function emailRisk(email: string | null): number {
  if (!email) return -1;
  const at = email.lastIndexOf('@');
  const domain = email.slice(at + 1).toLowerCase();
  if (disposable.has(domain)) return 1;
  const digits = (email.slice(0, at).match(/\d/g) ?? []).length;
  return digits >= 4 ? 0.5 : 0;
}

/** Standard UTC offsets (hours) to read "time of day" where the buyer lives; 0 when unknown. */
const utcOffset: Record<string, number> = {
  US: -5,
  CA: -5,
  MX: -6,
  BR: -3,
  AR: -3,
  GB: 0,
  IE: 0,
  PT: 0,
  FR: 1,
  DE: 1,
  ES: 1,
  IT: 1,
  NL: 1,
  BE: 1,
  PL: 1,
  SE: 1,
  NO: 1,
  DK: 1,
  CH: 1,
  RO: 2,
  UA: 2,
  TR: 3,
  RU: 3,
  NG: 1,
  ZA: 2,
  IN: 5,
  CN: 8,
  SG: 8,
  JP: 9,
  AU: 10,
  NZ: 12,
};
export const utcOffsetOf = (country: string): number => utcOffset[country] ?? 0;

export function localHour(at: number, country: string): number {
  const h = new Date(at).getUTCHours() + utcOffsetOf(country);
  return ((h % 24) + 24) % 24;
}
