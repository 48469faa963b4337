import {
  binRisk,
  DAY,
  emailRisk,
  type History,
  HOUR,
  historyWindowMs,
  localHour,
  type PaymentFacts,
  smallAmountUsd,
  toUsd,
} from './facts.ts';

/**
 * The model's inputs, computed the same way for training and serving. "Unknown" is -1
 * (trees split it off on its own), so a payment with little data scores on what it has.
 */

export const featureNames = [
  'amountUsd',
  'amountVsUsual',
  'firstPurchase',
  'accountAgeDays',
  'count1h',
  'count24h',
  'count7d',
  'sumUsd24h',
  'smallCount1h',
  'distinctCards24h',
  'cardNew',
  'otherCustomersOnCard24h',
  'minutesSinceLast',
  'ipBillingMismatch',
  'ipCountryNew',
  'shipBillingMismatch',
  'shipCountryNew',
  'shipAddressNew',
  'cardCountryMismatch',
  'binRisk',
  'localHour',
  'emailRisk',
  'itemCount',
] as const;
export type FeatureName = (typeof featureNames)[number];
export type FeatureVector = Float64Array;

const idx = Object.fromEntries(featureNames.map((n, i) => [n, i])) as Record<FeatureName, number>;
const flag = (b: boolean) => (b ? 1 : 0);
const round2 = (x: number) => Math.round(x * 100) / 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function computeFeatures(p: PaymentFacts, h: History): FeatureVector {
  const past = h.customer.filter((e) => e.at <= p.at && p.at - e.at <= historyWindowMs);
  const within = (ms: number) => past.filter((e) => p.at - e.at <= ms);
  const amountUsd = toUsd(p.amount, p.currency);
  const last1h = within(HOUR);
  const last24h = within(DAY);
  const latest = past.reduce((m, e) => Math.max(m, e.at), -Infinity);
  const hasHistory = past.length > 0;
  // "New" compares with what the customer had established before the last day, so a
  // takeover's second and third payments still count as coming from somewhere new.
  const established = past.filter((e) => p.at - e.at > DAY);
  const knownIps = new Set(established.map((e) => e.ipCountry).filter((c): c is string => c !== null));

  const v = new Float64Array(featureNames.length);
  v[idx.amountUsd] = round2(amountUsd);
  v[idx.amountVsUsual] = hasHistory
    ? round2(amountUsd / Math.max(1, median(past.map((e) => e.amountUsd))))
    : -1;
  v[idx.firstPurchase] = flag(!hasHistory);
  v[idx.accountAgeDays] =
    p.accountCreatedAt === null ? -1 : round2(Math.max(0, p.at - p.accountCreatedAt) / DAY);
  v[idx.count1h] = last1h.length;
  v[idx.count24h] = last24h.length;
  v[idx.count7d] = within(7 * DAY).length;
  v[idx.sumUsd24h] = round2(last24h.reduce((s, e) => s + e.amountUsd, 0));
  v[idx.smallCount1h] = last1h.filter((e) => e.amountUsd < smallAmountUsd).length;
  v[idx.distinctCards24h] = new Set([p.cardKey, ...last24h.map((e) => e.cardKey)]).size;
  v[idx.cardNew] = flag(!past.some((e) => e.cardKey === p.cardKey));
  v[idx.otherCustomersOnCard24h] = h.otherCustomersOnCard24h;
  v[idx.minutesSinceLast] = hasHistory ? round2(Math.min(43_200, (p.at - latest) / 60_000)) : -1;
  v[idx.ipBillingMismatch] = p.ipCountry === null ? -1 : flag(p.ipCountry !== p.billingCountry);
  v[idx.ipCountryNew] = p.ipCountry === null || knownIps.size === 0 ? -1 : flag(!knownIps.has(p.ipCountry));
  v[idx.shipBillingMismatch] = flag(p.shippingCountry !== p.billingCountry);
  v[idx.shipCountryNew] =
    established.length > 0 ? flag(!established.some((e) => e.shippingCountry === p.shippingCountry)) : -1;
  v[idx.shipAddressNew] =
    established.length > 0 ? flag(!established.some((e) => e.shippingKey === p.shippingKey)) : -1;
  v[idx.cardCountryMismatch] = p.cardCountry === null ? -1 : flag(p.cardCountry !== p.billingCountry);
  v[idx.binRisk] = binRisk(p.bin);
  v[idx.localHour] = localHour(p.at, p.billingCountry);
  v[idx.emailRisk] = emailRisk(p.email);
  v[idx.itemCount] = p.itemCount;
  return v;
}

/** One feature's value in words, for the reasons of a verdict. */
export function describeFeature(name: FeatureName, x: number, p: PaymentFacts): string {
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  switch (name) {
    case 'amountUsd':
      return `amount ${x.toFixed(2)} USD`;
    case 'amountVsUsual':
      return x < 0 ? 'no usual amount yet' : `amount ${x.toFixed(1)}x the customer's usual`;
    case 'firstPurchase':
      return x ? 'first purchase of this customer' : 'returning customer';
    case 'accountAgeDays':
      if (x < 0) return 'account age unknown (guest or new)';
      return x < 2 ? `account created ${Math.round(x * 24)} h ago` : `account ${Math.round(x)} days old`;
    case 'count1h':
      return `${n(x, 'earlier payment')} by this customer in the last hour`;
    case 'count24h':
      return `${n(x, 'earlier payment')} by this customer in 24 h`;
    case 'count7d':
      return `${n(x, 'earlier payment')} by this customer in 7 days`;
    case 'sumUsd24h':
      return `${x.toFixed(2)} USD spent by this customer in 24 h`;
    case 'smallCount1h':
      return `${n(x, 'small payment')} (under ${smallAmountUsd} USD) in the last hour`;
    case 'distinctCards24h':
      return `${n(x, 'different card')} used by this customer in 24 h`;
    case 'cardNew':
      return x ? 'card never used by this customer before' : 'card used by this customer before';
    case 'otherCustomersOnCard24h':
      return `card used by ${n(x, 'other customer')} in 24 h`;
    case 'minutesSinceLast':
      return x < 0 ? 'no earlier payment' : `${x < 1 ? '<1' : Math.round(x)} min since the previous payment`;
    case 'ipBillingMismatch':
      return x < 0
        ? 'IP country unknown'
        : x
          ? `IP country ${p.ipCountry} differs from billing country ${p.billingCountry}`
          : 'IP country matches billing country';
    case 'ipCountryNew':
      return x < 0
        ? 'no IP history'
        : x
          ? `IP country ${p.ipCountry} new for this customer`
          : 'IP country seen before';
    case 'shipBillingMismatch':
      return x
        ? `shipping country ${p.shippingCountry} differs from billing country ${p.billingCountry}`
        : 'ships to the billing country';
    case 'shipCountryNew':
      return x < 0 ? 'no shipping history' : x ? 'ships to a new country' : 'ships to a known country';
    case 'shipAddressNew':
      return x < 0 ? 'no shipping history' : x ? 'ships to a new address' : 'ships to a known address';
    case 'cardCountryMismatch':
      return x < 0
        ? 'card country unknown'
        : x
          ? `card issued in ${p.cardCountry}, billing in ${p.billingCountry}`
          : 'card issued in the billing country';
    case 'binRisk':
      return x >= 0.9
        ? `card BIN ${p.bin} in a high-risk range`
        : x >= 0.5
          ? `prepaid card (BIN ${p.bin})`
          : x >= 0.2
            ? 'card BIN unknown'
            : 'card from an ordinary issuer';
    case 'localHour':
      return `placed at ${Math.floor(x)}:00 local time`;
    case 'emailRisk':
      return x < 0
        ? 'no email'
        : x >= 1
          ? 'disposable email domain'
          : x > 0
            ? 'machine-looking email address'
            : 'ordinary email address';
    case 'itemCount':
      return n(x, 'item');
  }
}
