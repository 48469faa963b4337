import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Envelope } from '../../runtime/wire/index.ts';
import { order, useTestNode, waitUntil } from '../harness.ts';

const dashboardPath = new URL('../../deploy/grafana/jetsaga-dashboard.json', import.meta.url);

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard: panel targets (rows' nested panels too) and query variables. */
function dashboardQueries(dashboard: {
  panels?: Panel[];
  templating?: { list?: Array<{ type?: string; query?: string | { query?: string } }> };
}): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query;
    if (query) out.push({ where: 'a variable', expr: query });
  }
  return out;
}

const notMetrics = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names an expression reads, as written (a histogram's `_bucket`/`_count`/`_sum` kept:
 * they are series of the scrape as such). Drops string literals, label matchers, ranges, Grafana
 * variables, grouping clauses, function names (followed by a parenthesis) and numbers.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    // A variable's label_values(metric, label): the label is no metric.
    .replace(/\blabel_values\s*\(([^,)]*),[^)]*\)/g, ' $1 ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function
    if (notMetrics.has(m[0].toLowerCase())) continue;
    if (/[0-9.]$/.test(stripped.slice(0, m.index))) continue; // an exponent or a unit of a number (1e3)
    names.add(m[0]);
  }
  return [...names];
}

/** The series names of a text exposition (samples only, not names that merely have a HELP/TYPE line). */
function scrapedSeries(text: string): { series: Set<string>; types: Map<string, string> } {
  const series = new Set<string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    series.add(/^[^{\s]+/.exec(line)![0]);
  }
  return { series, types };
}

describe('the Grafana dashboard', () => {
  // Every role of the reference app; quick retries so an event for an unknown saga is redelivered and
  // dead-lettered within the test.
  const node = useTestNode({ config: { maxDeliver: 3, retryBaseMs: 20, retryMaxMs: 50 } });

  it('names in its queries only metrics that a scrape in the test actually returns', async () => {
    const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8'));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid ?? null).toBeNull();
    expect(dashboard.templating.list.find((v: { name: string }) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(20);

    // Sagas to their ends: completed ones (each through a fraud verdict) and a compensated one.
    const runs = [
      order({ orderId: 'dash-1' }),
      order({ orderId: 'dash-2' }),
      order({ orderId: 'dash-3', payment: { token: 'tok_declined' } }),
    ];
    const ids: string[] = [];
    for (const body of runs) {
      const res = await node().post('/v1/saga-types/order-fulfillment/sagas', body);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { sagaId: string }).sagaId);
    }
    const docs = await Promise.all(ids.map((id) => node().waitForTerminal(id)));
    expect(docs.map((d) => d.status).sort()).toEqual(['compensated', 'completed', 'completed']);
    expect(
      docs.filter((d) => (d.context as { fraud?: { outcome?: string } | null }).fraud?.outcome),
    ).toHaveLength(2);

    // Dead letters: a malformed command (at once) and an event for a saga that does not exist
    // (retried, so redelivered, then dead-lettered), for the lag, redelivery and DLQ panels.
    const ns = node().bus.topo.namespace;
    await node().bus.js.publish(`${ns}.cmd.inventory.reserve`, 'not json at all', { msgID: 'dash-poison-1' });
    const orphan: Envelope = {
      id: 'dash-orphan',
      type: 'inventory.reserved',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: 'no-such-saga',
      sagaType: 'order-fulfillment',
      correlationId: 'corr-dash',
      causationId: null,
      data: {},
    };
    await node().bus.publish('evt.inventory.reserved', orphan, 'dash-poison-2');

    const scrape = async () => {
      const res = await node().fetch('/metrics');
      expect(res.status).toBe(200);
      return res.text();
    };
    // Counters fed from consumers' running totals move on scrape; wait for both dead letters to show.
    let text = '';
    await waitUntil(
      async () => {
        text = await scrape();
        const dlq = [...text.matchAll(/^jetsaga_dlq_messages\{[^}]*\} (\S+)$/gm)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
        return dlq >= 2 && /^jetsaga_messages_redelivered_total\{/m.test(text);
      },
      'two dead letters and a redelivery in the scrape',
      20_000,
      100,
    );
    text = await scrape();
    const { series, types } = scrapedSeries(text);

    const used = new Map<string, string[]>();
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) used.set(name, [...(used.get(name) ?? []), where]);
    }
    const wrong: string[] = [];
    for (const [name, where] of used) {
      const places = [...new Set(where)].join(', ');
      if (!series.has(name)) wrong.push(`${name} is not in the scrape (${places})`);
      // A `_bucket` series is a histogram's: its base name must be declared as one.
      const base = /^(.*)_bucket$/.exec(name)?.[1];
      if (base && types.has(base) && types.get(base) !== 'histogram')
        wrong.push(`${name}: ${base} is a ${types.get(base)}, not a histogram (${places})`);
    }
    expect(wrong, 'metrics the dashboard queries that the scrape does not return').toEqual([]);
  });
});

describe('metricNames', () => {
  it('keeps metric names and drops functions, labels, ranges, variables and grouping', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, state) (rate(jetsaga_saga_step_seconds_bucket{job=~"$job", type=~"a|b"}[$__rate_interval])))',
      ),
    ).toEqual(['jetsaga_saga_step_seconds_bucket']);
    expect(
      metricNames('sum(max by (stream, consumer) (jetsaga_dlq_messages{job=~"$job"})) or vector(0)'),
    ).toEqual(['jetsaga_dlq_messages']);
    expect(metricNames('a_total / on (x) group_left b_total offset 5m')).toEqual(['a_total', 'b_total']);
    expect(metricNames('label_values(jetsaga_sagas_started_total{job=~"$job"}, type)')).toEqual([
      'jetsaga_sagas_started_total',
    ]);
  });
});
