import {
  binTiers,
  DAY,
  disposableEmailDomains,
  HOUR,
  type PastPayment,
  type PaymentFacts,
  toUsd,
  utcOffsetOf,
} from '../facts.ts';
import { computeFeatures, type FeatureVector } from '../features.ts';
import { Random } from '../../random.ts';

/**
 * A labeled synthetic payment stream. Customers with their own countries, cards,
 * addresses, habits and rhythms buy over 90 days; fraud episodes are woven in:
 * card testing (bursts of small payments over many cards), account takeover (a known
 * customer suddenly abroad, shipping elsewhere, spending more), high-value first
 * purchases by new accounts, and subtler fraud that looks almost ordinary. Legitimate
 * customers travel, send gifts, add cards, buy big on day one and buy in bursts, so the
 * classes overlap; a few labels are wrong, as chargeback data is. Every payment's
 * history is computed from the stream by the same code the agent uses.
 */

export type Pattern = 'legit' | 'card-testing' | 'account-takeover' | 'high-value-first' | 'subtle';

export interface LabeledPayment {
  facts: PaymentFacts;
  x: FeatureVector;
  label: 0 | 1;
  pattern: Pattern;
}

export interface GenerateOptions {
  seed: number;
  /** About how many payments to emit (the first 30 simulated days only build history). */
  payments: number;
  /** Share of fraudulent payments before label noise. */
  fraudRate?: number;
}

const simDays = 90;
const warmupDays = 30;

const countries: ReadonlyArray<readonly [string, number]> = [
  ['US', 30],
  ['GB', 10],
  ['DE', 9],
  ['FR', 8],
  ['CA', 6],
  ['ES', 5],
  ['IT', 5],
  ['NL', 4],
  ['AU', 4],
  ['BR', 4],
  ['IN', 4],
  ['PT', 3],
  ['JP', 3],
  ['PL', 3],
  ['SE', 2],
  ['MX', 2],
  ['IE', 2],
  ['CH', 2],
];
const allCountries = [...countries.map(([c]) => c), 'RO', 'UA', 'NG', 'TR', 'SG', 'CN', 'ZA', 'AR', 'RU'];
const currencyOf: Record<string, string> = {
  US: 'USD',
  GB: 'GBP',
  CA: 'CAD',
  AU: 'AUD',
  BR: 'BRL',
  IN: 'INR',
  JP: 'JPY',
  PL: 'PLN',
  SE: 'SEK',
  MX: 'MXN',
  CH: 'CHF',
};
const usdPerLocal = (c: string) => toUsd(1, currencyOf[c] ?? 'EUR');
/** Likelihood of buying at each local hour: busy evenings, quiet nights. */
const hourWeights = [2, 1, 1, 0.6, 0.5, 0.6, 1, 2, 3, 4, 5, 5, 6, 6, 5, 5, 5, 6, 7, 8, 8, 7, 5, 3].map(
  (w, h) => [h, w] as const,
);

interface Card {
  key: string;
  bin: string;
  country: string | null;
}

interface Customer {
  id: string;
  home: string;
  createdAt: number | null;
  email: string | null;
  cards: Card[];
  addresses: Array<{ key: string; country: string }>;
  typicalUsd: number;
}

interface Draft {
  facts: PaymentFacts;
  label: 0 | 1;
  pattern: Pattern;
}

export function generate(opts: GenerateOptions): LabeledPayment[] {
  const rnd = new Random(opts.seed);
  const fraudRate = opts.fraudRate ?? 0.02;
  let seq = 0;
  const id = (p: string) => `${p}${(seq++).toString(36)}`;
  const otherCountry = (not: string) => {
    for (;;) {
      const c = rnd.pick(allCountries);
      if (c !== not) return c;
    }
  };
  const card = (tier: keyof typeof binTiers, country: string | null): Card => ({
    key: id('card-'),
    bin: rnd.pick(binTiers[tier]),
    country,
  });
  const legitTier = () =>
    rnd.weighted<keyof typeof binTiers>([
      ['mainstream', 88],
      ['prepaid', 10],
      ['highRisk', 2],
    ]);
  const fraudTier = (risky: number) =>
    rnd.chance(risky)
      ? rnd.weighted<keyof typeof binTiers>([
          ['highRisk', 55],
          ['prepaid', 45],
        ])
      : 'mainstream';
  const email = (kind: 'ordinary' | 'digits' | 'disposable' | 'none', name: string): string | null => {
    if (kind === 'none') return null;
    if (kind === 'disposable') return `${name}${rnd.int(1, 99)}@${rnd.pick(disposableEmailDomains)}`;
    if (kind === 'digits') return `${name}${rnd.int(1000, 999999)}@mail.example`;
    return `${name}@mail.example`;
  };
  /** A moment on day `day` (fractional ok) at a plausible local hour for `country`. */
  const momentOn = (day: number, country: string) => {
    const hour = rnd.weighted(hourWeights);
    return Math.floor(day) * DAY + (hour - utcOffsetOf(country)) * HOUR + rnd.uniform(0, HOUR);
  };

  const drafts: Draft[] = [];
  const customers: Customer[] = [];
  const pay = (
    c: Customer,
    at: number,
    over: Partial<PaymentFacts> & { amountUsd: number },
    label: 0 | 1,
    pattern: Pattern,
  ) => {
    const currency = currencyOf[c.home] ?? 'EUR';
    const { amountUsd, ...rest } = over;
    const cardUsed = c.cards[0];
    drafts.push({
      label,
      pattern,
      facts: {
        paymentId: id('pay-'),
        customerId: c.id,
        at: Math.round(at),
        amount: Math.max(0.5, Math.round((amountUsd / usdPerLocal(c.home)) * 100) / 100),
        currency,
        cardKey: cardUsed?.key ?? '',
        bin: cardUsed?.bin ?? null,
        cardCountry: cardUsed?.country ?? null,
        billingCountry: c.home,
        shippingCountry: c.addresses[0]!.country,
        shippingKey: c.addresses[0]!.key,
        ipCountry: c.home,
        accountCreatedAt: c.createdAt,
        email: c.email,
        itemCount: 1 + rnd.poisson(0.8),
        ...rest,
      },
    });
  };

  // Legitimate customers. About 4.4 payments each land in the emitted 60 days.
  const customerCount = Math.round(opts.payments / 4.4);
  for (let k = 0; k < customerCount; k++) {
    const home = rnd.weighted(countries);
    const newcomer = rnd.chance(0.08);
    const joinedDay = newcomer ? rnd.uniform(0, simDays - 1) : -rnd.exponential(500);
    const known = rnd.chance(newcomer ? 0.7 : 0.75);
    const shopper = rnd.weighted<'digital' | 'big-ticket' | 'everyday'>([
      ['digital', 12],
      ['big-ticket', 7],
      ['everyday', 81],
    ]);
    const c: Customer = {
      id: id('cust-'),
      home,
      createdAt: known ? Math.round(joinedDay * DAY) : null,
      email: email(
        rnd.weighted([
          ['ordinary', 60],
          ['digits', 9],
          ['disposable', 0.6],
          ['none', 30],
        ]),
        'buyer',
      ),
      cards: Array.from(
        {
          length: rnd.weighted([
            [1, 70],
            [2, 24],
            [3, 6],
          ] as const),
        },
        () => card(legitTier(), rnd.chance(0.15) ? null : rnd.chance(0.96) ? home : otherCountry(home)),
      ),
      addresses: [
        { key: id('addr-'), country: home },
        ...Array.from({ length: rnd.int(0, 2) }, () => ({
          key: id('addr-'),
          country: rnd.chance(0.85) ? home : otherCountry(home),
        })),
      ],
      // Digital goods are small, electronics and furniture large, the rest in between.
      typicalUsd:
        shopper === 'digital'
          ? rnd.logNormal(6, 0.6)
          : shopper === 'big-ticket'
            ? rnd.logNormal(450, 0.6)
            : rnd.logNormal(55, 0.9),
    };
    customers.push(c);
    const from = Math.max(0, joinedDay);
    const orders = rnd.weighted<() => number>([
      [() => rnd.int(1, 2), 45],
      [() => 1 + rnd.poisson(4), 35],
      [() => 1 + rnd.poisson(12), 15],
      [() => 1 + rnd.poisson(35), 4],
      [() => 0, 1],
    ])();
    const times: number[] = [];
    for (let i = 0; i < orders; i++) times.push(momentOn(rnd.uniform(from, simDays), home));
    if (orders === 0) {
      // Bursty buyers (resellers, ticket drops, office supplies): sessions of many orders on one card.
      for (let s = rnd.int(1, 4); s > 0; s--) {
        let t = momentOn(rnd.uniform(from, simDays), home);
        for (let i = rnd.int(5, 40); i > 0; i--) {
          times.push(t);
          t += rnd.exponential(rnd.chance(0.5) ? 0.5 : 4) * 60_000;
        }
      }
    }
    if (newcomer) times.push(Math.round(joinedDay * DAY + rnd.exponential(0.5) * DAY));
    times.sort((a, b) => a - b);
    let first = true;
    for (const at of times) {
      if (at < 0 || at >= simDays * DAY) continue;
      const cardUsed = rnd.chance(0.8) ? c.cards[0]! : rnd.pick(c.cards);
      const travelling = rnd.chance(0.05);
      const ipKnown = rnd.chance(0.8);
      const dest = rnd.weighted<'home' | 'alt' | 'gift'>([
        ['home', 87],
        ['alt', 10],
        ['gift', 3],
      ]);
      const addr =
        dest === 'home'
          ? c.addresses[0]!
          : dest === 'alt'
            ? rnd.pick(c.addresses)
            : { key: id('addr-'), country: rnd.chance(0.7) ? home : otherCountry(home) };
      // Some newcomers come for something big, legitimately.
      const bigFirst = first && newcomer && rnd.chance(0.03);
      first = false;
      pay(
        c,
        at,
        {
          amountUsd: c.typicalUsd * rnd.logNormal(bigFirst ? 8 : 1, 0.55),
          cardKey: cardUsed.key,
          bin: cardUsed.bin,
          cardCountry: cardUsed.country,
          ipCountry: ipKnown ? (travelling ? otherCountry(home) : home) : null,
          shippingCountry: addr.country,
          shippingKey: addr.key,
        },
        0,
        'legit',
      );
    }
  }

  // Fraud episodes until the fraud share is reached.
  const legitCount = drafts.length;
  const fraudTarget = Math.round((legitCount * fraudRate) / (1 - fraudRate));
  const stolenPool: Card[] = [];
  const legitTimes = new Map<string, number[]>();
  for (const d of drafts)
    legitTimes.set(d.facts.customerId, [...(legitTimes.get(d.facts.customerId) ?? []), d.facts.at]);
  let fraudCount = 0;
  while (fraudCount < fraudTarget) {
    const pattern = rnd.weighted<Pattern>([
      // Per episode; episodes differ in size, so payments split about 36/30/29/5.
      ['card-testing', 3.1],
      ['account-takeover', 17.6],
      ['high-value-first', 21],
      ['subtle', 3.3],
    ]);
    const t0 = rnd.uniform(1, simDays) * DAY;
    const before = drafts.length;
    if (pattern === 'card-testing') cardTesting(t0);
    else if (pattern === 'account-takeover') accountTakeover(t0);
    else if (pattern === 'high-value-first') highValueFirst(t0);
    else subtle(t0);
    fraudCount += drafts.length - before;
  }

  function fraudster(t0: number, guestShare: number): Customer {
    const home = rnd.weighted(countries);
    return {
      id: id('cust-'),
      home,
      createdAt: rnd.chance(guestShare) ? null : Math.round(t0 - rnd.exponential(0.4) * DAY),
      email: email(
        rnd.weighted([
          ['disposable', 32],
          ['digits', 33],
          ['ordinary', 22],
          ['none', 13],
        ]),
        'user',
      ),
      cards: [],
      addresses: [{ key: id('addr-'), country: home }],
      typicalUsd: 0,
    };
  }

  function cardTesting(t0: number): void {
    const c = fraudster(t0, 0.4);
    const attempts = Math.min(40, 3 + Math.floor(rnd.logNormal(7, 0.6)));
    const sameCard = rnd.chance(0.15);
    const ip = rnd.weighted<string | null>([
      [otherCountry(c.home), 55],
      [c.home, 25],
      [null, 20],
    ]);
    let t = t0;
    let current: Card | null = null;
    for (let i = 0; i < attempts; i++) {
      if (!current || !sameCard) {
        const shared = stolenPool.length > 0 && rnd.chance(0.3);
        current = shared
          ? rnd.pick(stolenPool.slice(-50))
          : card(fraudTier(0.65), rnd.chance(0.2) ? null : rnd.chance(0.6) ? otherCountry(c.home) : c.home);
        if (!shared) stolenPool.push(current);
      }
      const amountUsd = rnd.weighted<() => number>([
        [() => rnd.uniform(0.5, 6), 80],
        [() => rnd.uniform(6, 15), 15],
        [() => rnd.uniform(15, 40), 5],
      ])();
      pay(
        c,
        t,
        {
          amountUsd,
          cardKey: current.key,
          bin: current.bin,
          cardCountry: current.country,
          ipCountry: ip,
          itemCount: 1,
        },
        1,
        'card-testing',
      );
      t += rnd.exponential(rnd.chance(0.6) ? 1.5 : 6) * 60_000;
    }
    // Cashing out once a card works.
    if (rnd.chance(0.15)) {
      pay(
        c,
        t,
        { amountUsd: rnd.uniform(200, 900), cardKey: current!.key, bin: current!.bin, ipCountry: ip },
        1,
        'card-testing',
      );
    }
  }

  function accountTakeover(t0: number): void {
    // Takeovers hit accounts with a track record: retry until one bought twice before.
    let victim = rnd.pick(customers);
    for (let tries = 0; (legitTimes.get(victim.id) ?? []).filter((at) => at < t0).length < 2; tries++) {
      if (tries > 50) return;
      victim = rnd.pick(customers);
    }
    const ip = rnd.weighted<string | null>([
      [otherCountry(victim.home), 78],
      [null, 10],
      [victim.home, 12],
    ]);
    const newAddr = rnd.chance(0.9);
    const addr = newAddr
      ? { key: id('addr-'), country: rnd.chance(0.45) ? otherCountry(victim.home) : victim.home }
      : victim.addresses[0]!;
    const stolen = rnd.chance(0.35)
      ? card(fraudTier(0.5), rnd.chance(0.5) ? otherCountry(victim.home) : victim.home)
      : victim.cards[0]!;
    const n = rnd.weighted([
      [1, 50],
      [2, 30],
      [rnd.int(3, 4), 20],
    ] as const);
    let t = t0;
    for (let i = 0; i < n; i++) {
      pay(
        victim,
        t,
        {
          amountUsd: Math.max(30, victim.typicalUsd * rnd.logNormal(6, 0.6)),
          cardKey: stolen.key,
          bin: stolen.bin,
          cardCountry: stolen.country,
          ipCountry: ip,
          shippingCountry: addr.country,
          shippingKey: addr.key,
        },
        1,
        'account-takeover',
      );
      t += rnd.exponential(2) * HOUR;
    }
  }

  function highValueFirst(t0: number): void {
    const c = fraudster(t0, 0.35);
    const ship = rnd.chance(0.5) ? otherCountry(c.home) : c.home;
    c.addresses = [{ key: id('addr-'), country: ship }];
    const ip = rnd.weighted<string | null>([
      [otherCountry(c.home), 50],
      [c.home, 30],
      [null, 20],
    ]);
    const n = rnd.chance(0.75) ? 1 : 2;
    let t = t0;
    for (let i = 0; i < n; i++) {
      const cd = card(
        fraudTier(0.45),
        rnd.chance(0.2) ? null : rnd.chance(0.45) ? otherCountry(c.home) : c.home,
      );
      pay(
        c,
        t,
        {
          amountUsd: Math.max(200, rnd.logNormal(900, 0.6)),
          cardKey: cd.key,
          bin: cd.bin,
          cardCountry: cd.country,
          ipCountry: ip,
          itemCount: 1 + rnd.poisson(1.5),
        },
        1,
        'high-value-first',
      );
      t += rnd.exponential(0.5) * HOUR;
    }
  }

  function subtle(t0: number): void {
    const c = fraudster(t0, 0.5);
    if (c.createdAt !== null) c.createdAt = Math.round(t0 - rnd.uniform(5, 60) * DAY);
    c.email = rnd.chance(0.7) ? `user@mail.example` : null;
    const cd = card(rnd.chance(0.7) ? 'mainstream' : 'prepaid', rnd.chance(0.8) ? c.home : null);
    for (let i = rnd.int(1, 2); i > 0; i--) {
      pay(
        c,
        t0 + i * rnd.exponential(3) * HOUR,
        { amountUsd: rnd.logNormal(120, 0.7), cardKey: cd.key, bin: cd.bin, cardCountry: cd.country },
        1,
        'subtle',
      );
    }
  }

  return withHistory(drafts, rnd);
}

/**
 * Replays the stream in time order, giving each payment the history the velocity store
 * would hold at that moment, then computes its features and applies label noise:
 * about 2% of fraud never charged back (labeled legitimate) and 0.05% of legitimate
 * payments disputed as fraud.
 */
function withHistory(drafts: Draft[], rnd: Random): LabeledPayment[] {
  drafts.sort((a, b) => a.facts.at - b.facts.at || (a.facts.paymentId < b.facts.paymentId ? -1 : 1));
  const byCustomer = new Map<string, PastPayment[]>();
  const byCard = new Map<string, Array<{ at: number; customerId: string }>>();
  const out: LabeledPayment[] = [];
  for (const d of drafts) {
    const p = d.facts;
    const past = byCustomer.get(p.customerId) ?? [];
    const uses = byCard.get(p.cardKey) ?? [];
    const others = new Set(
      uses.filter((u) => p.at - u.at <= DAY && u.customerId !== p.customerId).map((u) => u.customerId),
    );
    if (p.at >= warmupDays * DAY) {
      const x = computeFeatures(p, {
        customer: past.filter((e) => p.at - e.at <= 30 * DAY),
        otherCustomersOnCard24h: others.size,
      });
      const flip = d.label === 1 ? rnd.chance(0.02) : rnd.chance(0.0005);
      out.push({ facts: p, x, label: (flip ? 1 - d.label : d.label) as 0 | 1, pattern: d.pattern });
    }
    past.push({
      paymentId: p.paymentId,
      at: p.at,
      amountUsd: toUsd(p.amount, p.currency),
      cardKey: p.cardKey,
      ipCountry: p.ipCountry,
      shippingCountry: p.shippingCountry,
      shippingKey: p.shippingKey,
    });
    byCustomer.set(p.customerId, past);
    uses.push({ at: p.at, customerId: p.customerId });
    byCard.set(p.cardKey, uses);
  }
  return out;
}
