import { writeFile } from 'node:fs/promises';
import {
  allRoles,
  type App,
  type Config,
  createLogger,
  isTerminal,
  type RunningNode,
  type SagaStatus,
  startNode,
} from 'jetsaga';
import { resolveInfra } from 'jetsaga/dev';
import { demoSagas, scenarioFor } from './scenarios.ts';

interface DemoArgs {
  saga: string;
  orders: number;
  json: boolean;
  timeoutMs: number;
  /** Where to write the sagas as the API returned them once ended (JSON lines: `jetsaga replay --file`). */
  exportTo?: string;
}

function parseArgs(args: string[]): DemoArgs {
  const out: DemoArgs = { saga: 'order-fulfillment', orders: 20, json: false, timeoutMs: 120_000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') out.json = true;
    else if (a === '--orders') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        throw new Error(`--orders must be an integer from 1 to 100000 (got ${args[i]})`);
      out.orders = n;
    } else if (a === '--saga') {
      const saga = args[++i] ?? '';
      if (!demoSagas.includes(saga))
        throw new Error(`--saga must be one of ${demoSagas.join(', ')} (got ${saga || 'nothing'})`);
      out.saga = saga;
    } else if (a === '--export') {
      const file = args[++i];
      if (!file || file.startsWith('--'))
        throw new Error('--export: give the file to write the histories to, e.g. --export demo.jsonl');
      out.exportTo = file;
    } else throw new Error(`unknown demo option ${a}; use --saga TYPE, --orders N, --export FILE and --json`);
  }
  return out;
}

interface Row {
  sagaId: string;
  scenario: string;
  expected: string;
  status: SagaStatus;
  reason: string | null;
  steps: number;
  durationMs: number;
}

/**
 * The main job: local infrastructure, every role, a batch of sagas through the HTTP API,
 * a table and one summary line. Logs go to stderr so stdout stays readable.
 */
export async function runDemo(rawArgs: string[], base: Config, app: App): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseArgs(rawArgs);
  } catch (err) {
    process.stderr.write(`jetsaga demo: ${(err as Error).message}\n`);
    return 2;
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const infra = await resolveInfra({ log: say });
  say(`jetsaga demo: Node ${process.version}, infrastructure ${infra.describe()}`);
  const config: Config = {
    ...base,
    natsUrl: infra.natsUrl,
    mongoUrl: infra.mongoUrl,
    httpPort: 0,
    auth: 'off', // local demo on loopback; it says so when it starts
    logLevel: base.logLevel === 'info' ? 'warn' : base.logLevel,
    // A fresh namespace and database per run: the demo never mixes with earlier runs.
    namespace: base.namespace || `demo${Date.now().toString(36)}`,
    mongoDb: base.mongoDb === 'jetsaga' ? `jetsaga_demo_${Date.now().toString(36)}` : base.mongoDb,
  };
  const log = createLogger(config.logLevel, { app: 'jetsaga-demo' }, 2);
  const drill = args.saga === 'order-fulfillment' && app.reactors['restock-agent'] !== undefined;
  if (drill) shortenShopDays();
  const node = await startNode(config, app, allRoles(app), log);
  try {
    const api = node.api!.url;
    say(
      `jetsaga demo: API on ${api}, starting ${args.orders} ${args.saga} sagas (auth: off, local demo on loopback)`,
    );
    const started = await Promise.all(
      Array.from({ length: args.orders }, async (_, i) => {
        const scenario = scenarioFor(args.saga, i);
        const res = await fetch(`${api}/v1/saga-types/${args.saga}/sagas`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(scenario.input(i)),
        });
        if (res.status !== 202) throw new Error(`start failed: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { sagaId: string };
        return { sagaId: body.sagaId, scenario };
      }),
    );
    const deadline = Date.now() + args.timeoutMs;
    const rows: Row[] = [];
    const exported: string[] = [];
    for (const { sagaId, scenario } of started) {
      for (;;) {
        const res = await fetch(`${api}/v1/sagas/${sagaId}`);
        const view = (await res.json()) as {
          status: SagaStatus;
          reason: string | null;
          history: unknown[];
          durationMs?: number;
        };
        if (isTerminal(view.status) || Date.now() > deadline) {
          // Every step's history entry is written by the step itself: an ended saga's is whole.
          exported.push(JSON.stringify(view));
          rows.push({
            sagaId,
            scenario: scenario.name,
            expected: scenario.expect,
            status: view.status,
            reason: view.reason,
            steps: view.history.length,
            durationMs: view.durationMs ?? Number.NaN,
          });
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (args.exportTo) {
      await writeFile(args.exportTo, exported.map((line) => `${line}\n`).join(''), 'utf8');
      say(
        `jetsaga demo: ${exported.length} sagas written to ${args.exportTo} (check a build: jetsaga replay --file ${args.exportTo})`,
      );
    }
    const choreo = args.saga === 'order-fulfillment' ? await choreography(node, app, rows.length) : null;
    const restock = drill ? await restockDrill(node, api) : null;
    return report(rows, args.json, args.saga, choreo, restock);
  } finally {
    await node.stop();
    await infra.stop();
  }
}

interface Choreography {
  notifications: number;
  orderNotifications: number;
  fraudNotifications: number;
  cardsBlocked: number;
}

/**
 * What the reactors no saga knows did meanwhile (README: Reactors): the notifications recorded and the
 * cards blocked, read from their collections once every ended order has its notification (or after
 * 10 s: they react to saga.ended a moment after the saga ends). Null when the app runs neither.
 */
async function choreography(node: RunningNode, app: App, orders: number): Promise<Choreography | null> {
  if (!app.reactors.notifications && !app.reactors['payment-blocking']) return null;
  const db = node.mongo.db(node.config.mongoDb);
  const count = (filter: Record<string, unknown>) => db.collection('notifications').countDocuments(filter);
  const until = Date.now() + 10_000;
  while (app.reactors.notifications && (await count({ kind: /^order-/ })) < orders && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  return {
    notifications: await count({ kind: { $exists: true } }),
    orderNotifications: await count({ kind: /^order-/ }),
    fraudNotifications: await count({ kind: 'fraud-flagged' }),
    cardsBlocked: await db.collection('card_blocks').countDocuments({ until: { $gt: new Date() } }),
  };
}

/** The SKU the shop stocks thinly (services/inventory `defaultCatalog`): the drill sells it down. */
const drillSku = 'SKU-10';

/**
 * The restock agent forecasts in shop days; the demo makes a day 200 ms long (and the supplier's lead
 * time three of them), unless the environment says otherwise, so weeks of sales fit in seconds. Set
 * before the roles start: the agent reads its settings then.
 */
function shortenShopDays(): void {
  process.env.JETSAGA_RESTOCK_DAY_MS ??= '200';
  process.env.JETSAGA_RESTOCK_LEAD_TIME_DAYS ??= '3';
  process.env.JETSAGA_RESTOCK_MIN_HISTORY_DAYS ??= '7';
  process.env.JETSAGA_RESTOCK_FORECAST_EVERY_MS ??= '1000';
}

interface RestockDrill {
  sku: string;
  completed: number;
  qty: number;
  orders: number;
}

/**
 * The restock agent at work (README: The restock agent): orders of the thinly stocked SKU, one every
 * 40 ms (a few a shop day), until the agent has seen its stock reach the reorder point, recommended a
 * restock, and the restock saga received the goods; at most 30 s. Its orders are not in the table.
 */
async function restockDrill(node: RunningNode, api: string): Promise<RestockDrill> {
  const db = node.mongo.db(node.config.mongoDb);
  const done = () =>
    db
      .collection<{ status: string; context?: { qty?: number } }>('sagas')
      .find({ type: 'restock', status: 'completed', 'input.sku': drillSku })
      .toArray();
  const until = Date.now() + 30_000;
  const placed: Array<Promise<unknown>> = [];
  let restocked = await done();
  for (let i = 0; restocked.length === 0 && Date.now() < until; i++) {
    // The first scenario (a happy order) with this SKU only.
    const order = {
      ...(scenarioFor('order-fulfillment', 0).input(i) as Record<string, unknown>),
      orderId: `drill-${Date.now().toString(36)}-${i}`,
      items: [{ sku: drillSku, qty: 1 + (i % 3), unitPrice: 4 }],
    };
    placed.push(
      fetch(`${api}/v1/saga-types/order-fulfillment/sagas`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(order),
      }).then((r) => r.arrayBuffer()),
    );
    await new Promise((r) => setTimeout(r, 40));
    if (i % 10 === 9) restocked = await done();
  }
  await Promise.allSettled(placed);
  return {
    sku: drillSku,
    completed: restocked.length,
    qty: restocked.reduce((sum, s) => sum + (s.context?.qty ?? 0), 0),
    orders: placed.length,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function report(
  rows: Row[],
  json: boolean,
  saga: string,
  choreo: Choreography | null = null,
  restock: RestockDrill | null = null,
): number {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `${'saga id'.padEnd(38)}${'scenario'.padEnd(15)}${'outcome'.padEnd(13)}${'steps'.padStart(6)}${'ms'.padStart(8)}  reason`,
  );
  for (const r of rows) {
    const mark = r.status === r.expected ? '' : `  (expected ${r.expected})`;
    out(
      `${r.sagaId.padEnd(38)}${r.scenario.padEnd(15)}${r.status.padEnd(13)}${String(r.steps).padStart(6)}${String(Math.round(r.durationMs)).padStart(8)}  ${r.reason ?? ''}${mark}`,
    );
  }
  const count = (s: SagaStatus) => rows.filter((r) => r.status === s).length;
  const durations = rows
    .map((r) => r.durationMs)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const summary = {
    sagas: rows.length,
    completed: count('completed'),
    compensated: count('compensated'),
    failed: count('failed'),
    fraudCompensated: rows.filter((r) => r.status === 'compensated' && r.reason === 'fraud').length,
    p50Ms: Math.round(percentile(durations, 50)),
    p95Ms: Math.round(percentile(durations, 95)),
    ...(choreo ? { choreography: choreo } : {}),
    ...(restock ? { restock } : {}),
  };
  const allTerminal = rows.every((r) => isTerminal(r.status));
  const unexpected = rows.filter((r) => r.status !== r.expected).length;
  if (!allTerminal)
    out(`demo: ${rows.filter((r) => !isTerminal(r.status)).length} sagas did not finish in time`);
  if (unexpected > 0) out(`demo: ${unexpected} sagas ended differently than their scenario expects`);
  if (saga === 'order-fulfillment') {
    out(`demo: ${summary.fraudCompensated} compensated for fraud (flagged by the fraud agent)`);
  }
  if (choreo)
    out(
      `demo: reactors: ${choreo.orderNotifications} order notifications, ${choreo.fraudNotifications} fraud notifications, ${choreo.cardsBlocked} cards blocked`,
    );
  if (restock)
    out(
      `demo: ${restock.completed} restock${restock.completed === 1 ? '' : 's'} completed for ${restock.sku} (+${restock.qty}) after ${restock.orders} orders of it`,
    );
  out(
    `demo: ${summary.sagas} sagas, ${summary.completed} completed, ${summary.compensated} compensated, ${summary.failed} failed, p50 ${summary.p50Ms} ms, p95 ${summary.p95Ms} ms`,
  );
  if (json) out(JSON.stringify(summary));
  return allTerminal && summary.failed === 0 ? 0 : 1;
}
