import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { type Bus, consumerLag } from '../messaging/index.ts';
import { SagaStatus, type SagaStore } from '../store/index.ts';
import { DeadLetterAdmin } from './dead-letters.ts';
import { authProblems, json, problemResponses, scoped } from './openapi-util.ts';
import { OverviewQuerySchema, OverviewSchema, overviewWindows } from './schemas.ts';

export interface OverviewDeps {
  store: SagaStore;
  bus: Bus;
}

type Overview = z.infer<typeof OverviewSchema>;

/** Buckets of the series, whatever the window: per minute over the last hour. */
const buckets = 60;
/** The latest ended sagas the percentiles are computed from, at most. */
const durationSample = 20_000;
const topReasons = 5;

/** The list API's URL of the sagas a reason was counted on. */
const sagasLink = (type: string, status: string) => `/v1/sagas?${new URLSearchParams({ type, status })}`;

/** `GET /v1/overview`: the fleet at a glance, for the inspector's first page and for people. */
export function registerOverviewRoutes(app: OpenAPIHono, deps: OverviewDeps): void {
  const deadLetters = new DeadLetterAdmin(deps.bus);
  let jsm: Promise<JetStreamManager> | undefined;
  const manager = () => (jsm ??= jetstreamManager(deps.bus.nc));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/overview',
      tags: ['sagas'],
      operationId: 'getOverview',
      summary: 'The fleet at a glance: counts, starts and ends over time, durations, top reasons, DLQ, lag',
      description: [
        'What the sagas created, moved or ended in the window did, read in bounded, indexed aggregations:',
        '- `counts`: those sagas by current status and by type;',
        '- `series`: sagas started and ended per bucket, 60 buckets covering the window (per minute for `1h`);',
        '- `durations`: p50 and p95 of created-to-ended time by type, of the sagas that ended in the window (the latest 20,000 at most: `sampled`);',
        '- `reasons`: the 5 most frequent reasons of compensating, compensated and failed sagas, each with the list URL of the sagas of its type and status;',
        '- `deadLetters`: dead letters waiting in the DLQ stream now, by consumer;',
        '- `consumers`: lag of each durable consumer now (pending + ack pending).',
        '',
        '`deadLetters` and `consumers` are null when NATS cannot be read; the rest still answers.',
      ].join('\n'),
      ...scoped('getOverview'),
      request: { query: OverviewQuerySchema },
      responses: {
        200: json(OverviewSchema, 'the overview'),
        ...problemResponses(400, ...authProblems('read')),
      },
    }),
    async (c) => {
      const { window } = c.req.valid('query');
      const windowMs = overviewWindows[window];
      const until = new Date();
      const since = new Date(until.getTime() - windowMs);
      const bucketMs = windowMs / buckets;
      const [store, dlq, consumers] = await Promise.all([
        deps.store.overview({ since, until, bucketMs, buckets, durationSample, topReasons }),
        deadLetters.countByConsumer().catch(() => null),
        manager()
          .then(async (m) =>
            (await consumerLag(m, deps.bus))
              .map((c) => ({ ...c, lag: c.pending + c.ackPending }))
              .sort((a, b) => b.lag - a.lag || a.consumer.localeCompare(b.consumer)),
          )
          .catch(() => null),
      ]);
      const zero = () =>
        Object.fromEntries(Object.values(SagaStatus).map((s) => [s, 0])) as Record<SagaStatus, number>;
      const byStatus = zero();
      const types = new Map<string, { type: string; total: number; byStatus: Record<SagaStatus, number> }>();
      for (const { type, status, count } of store.counts) {
        byStatus[status] = (byStatus[status] ?? 0) + count;
        let t = types.get(type);
        if (!t) types.set(type, (t = { type, total: 0, byStatus: zero() }));
        t.total += count;
        t.byStatus[status] = (t.byStatus[status] ?? 0) + count;
      }
      const body: Overview = {
        window,
        since: since.toISOString(),
        until: until.toISOString(),
        counts: {
          total: store.counts.reduce((n, g) => n + g.count, 0),
          byStatus,
          byType: [...types.values()],
        },
        series: { bucketSeconds: bucketMs / 1000, starts: store.starts, ends: store.ends },
        durations: { sampled: store.durationsSampled, byType: store.durations },
        reasons: store.reasons.map((r) => ({ ...r, links: { sagas: sagasLink(r.type, r.status) } })),
        deadLetters: dlq && {
          waiting: [...dlq.values()].reduce((n, x) => n + x, 0),
          byConsumer: [...dlq].map(([consumer, count]) => ({ consumer, count })),
        },
        consumers,
      };
      return c.json(body, 200);
    },
  );
}
