import { z } from '@hono/zod-openapi';
import { SagaStatus } from '../store/index.ts';

/**
 * Wire shapes of the HTTP API: the single source for response types, request validation
 * and the OpenAPI document. Dates travel as ISO 8601 strings; null means "not yet".
 */

const isoDate = z.string().openapi({ format: 'date-time', example: '2025-01-01T12:00:00.000Z' });
const isoDateOrNull = isoDate.nullable();

export const FieldIssueSchema = z
  .object({
    field: z
      .string()
      .openapi({ description: 'dotted path of the field, query parameter or header at fault' }),
    message: z.string(),
  })
  .openapi('FieldIssue');

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'about:blank' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().openapi({ description: 'the request path' }),
    errors: z.array(FieldIssueSchema).optional(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details; extension members may follow' });

/** Page size of every paginated list: 1 to 500, 50 when absent. */
export const PageLimitSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(500)
  .default(50)
  .openapi({ type: 'integer', minimum: 1, maximum: 500, default: 50 });

export const SagaStatusSchema = z.enum(Object.values(SagaStatus)).openapi('SagaStatus');

export const TransitionSchema = z
  .object({
    rev: z.number().int().openapi({ description: 'the saga revision this transition produced' }),
    at: isoDateOrNull,
    event: z.object({
      id: z.string(),
      type: z.string(),
      data: z.unknown().openapi({
        description:
          "the event's data. For `saga.started`, `saga.cancel`, `saga.resume` and signals (`saga.signal.<name>`, data `{ by, data }`) sent through this API, `by` names the caller: the name of its token, or `anonymous` with auth off",
      }),
      causationId: z.string().nullable().optional().openapi({
        description:
          'what the event answers (a reply: its command id), as the machine saw it; absent in transitions recorded before jetsaga kept it',
      }),
    }),
    from: z.string().nullable(),
    to: z.string().nullable(),
    status: SagaStatusSchema,
    commands: z.array(z.object({ msgId: z.string(), type: z.string(), data: z.unknown() })),
    timers: z.object({
      set: z.array(z.object({ id: z.string(), dueAt: isoDateOrNull })),
      cancelled: z.array(z.string()),
    }),
    context: z.unknown().optional().openapi({
      description:
        "the saga's context after this transition (the inspector's time travel); absent when it was too large to record (see `contextOmitted`) or the transition was recorded before jetsaga kept it",
    }),
    contextOmitted: z
      .object({ bytes: z.number().int(), limit: z.number().int() })
      .optional()
      .openapi({ description: "set instead of `context` when the context's JSON was over `limit` bytes" }),
  })
  .openapi('SagaTransition', { description: 'one step: event in, state from and to, commands out, timers' });

export const SagaSummarySchema = z
  .object({
    sagaId: z.string(),
    type: z.string(),
    version: z.number().int(),
    status: SagaStatusSchema,
    state: z.string().nullable().openapi({ description: 'dotted for nested states' }),
    reason: z.string().nullable(),
    correlationId: z.string(),
    rev: z.number().int(),
    createdAt: isoDateOrNull,
    updatedAt: isoDateOrNull,
    context: z
      .unknown()
      .optional()
      .openapi({ description: "the saga's context: only in a list asked for with `include=context`" }),
  })
  .openapi('SagaSummary');

/**
 * One Server-Sent Event of `GET /v1/sagas/{id}/events`, as an SSE client parses it. OpenAPI 3.1 has
 * no word for one item of a stream (3.2 adds `itemSchema`); tools such as Schemathesis read a 3.1
 * `text/event-stream` schema as one event's fields, so that is what it describes.
 */
export const SagaStreamEventSchema = z
  .object({
    event: z.enum(['transition', 'saga', 'end', 'error']).openapi({
      description:
        '`transition`: a step; `saga`: the summary changed; `end`: the saga ended and its history is complete (the stream closes); `error`: the stream failed, reconnect with `Last-Event-ID`',
    }),
    data: z.string().openapi({
      description:
        'JSON: a SagaTransition for `transition`, a SagaSummary for `saga` and `end`, `{ "detail": string }` for `error`',
    }),
    id: z.string().regex(/^\d+$/).optional().openapi({
      description:
        "the transition's `rev` (on `transition` events only): the `Last-Event-ID` to resume after it",
    }),
  })
  .openapi('SagaStreamEvent', { description: "one Server-Sent Event of a saga's stream" });

export const StalledCommandSchema = z
  .object({
    commandId: z.string(),
    type: z.string(),
    attempts: z.number().int().openapi({ description: 'resends made before giving up' }),
    since: isoDateOrNull,
  })
  .openapi('StalledCommand');

export const SagaViewSchema = SagaSummarySchema.extend({
  error: z.object({ message: z.string(), at: isoDateOrNull }).nullable(),
  context: z.unknown(),
  input: z.unknown(),
  pendingOutbox: z.array(z.object({ msgId: z.string(), subject: z.string(), type: z.string() })),
  timers: z.array(z.object({ id: z.string(), dueAt: isoDateOrNull })),
  stalled: z.array(StalledCommandSchema).openapi({
    description:
      'commands of the current state whose resends ran out: the saga waits for them; `POST /v1/sagas/{id}/resume` sends them again (empty: nothing to resume)',
  }),
  endedAt: isoDateOrNull,
  expiresAt: isoDateOrNull.openapi({
    description:
      'when the ended saga and its history become due for deletion (JETSAGA_RETENTION_MS; the next purge round deletes them); null while it runs, or when ended sagas are kept for ever',
  }),
  durationMs: z.number().nullable().openapi({ description: 'start to end state; null while running' }),
  history: z.array(TransitionSchema),
  links: z.object({ self: z.string(), history: z.string(), events: z.string(), definition: z.string() }),
}).openapi('Saga');

export const SagaPageSchema = z
  .object({
    items: z.array(SagaSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'pass as ?cursor= for the next page; null at the end' }),
    links: z.object({ next: z.string().nullable() }),
  })
  .openapi('SagaPage');

export const StartedSchema = z
  .object({
    sagaId: z.string(),
    type: z.string(),
    version: z.number().int(),
    status: SagaStatusSchema,
    links: z.object({ self: z.string(), history: z.string(), events: z.string() }),
  })
  .openapi('SagaStarted');

export const CancelBodySchema = z
  .object({ reason: z.string().min(1).max(500).optional() })
  .openapi('CancelRequest');

export const CancelAcceptedSchema = z
  .object({
    sagaId: z.string(),
    status: SagaStatusSchema,
    cancelRequested: z.literal(true),
    links: z.object({ self: z.string() }),
  })
  .openapi('CancelAccepted');

export const SignalAcceptedSchema = z
  .object({
    sagaId: z.string(),
    signal: z.string(),
    eventId: z
      .string()
      .openapi({ description: "the signal's event id (derived from the Idempotency-Key when one is sent)" }),
    links: z.object({ self: z.string() }),
  })
  .openapi('SignalAccepted');

export const ResumeAcceptedSchema = z
  .object({
    sagaId: z.string(),
    status: SagaStatusSchema,
    state: z.string().nullable(),
    resumed: z.array(StalledCommandSchema).openapi({ description: 'the commands sent again' }),
    links: z.object({ self: z.string() }),
  })
  .openapi('ResumeAccepted');

export const SagaTypesSchema = z
  .object({
    items: z.array(
      z.object({
        type: z.string(),
        versions: z.array(z.number().int()),
        latest: z.number().int(),
        description: z.string().nullable(),
      }),
    ),
  })
  .openapi('SagaTypes');

export const MachineStateSchema = z
  .object({
    id: z
      .string()
      .openapi({ description: 'dotted path from the root, as in a saga\'s "state"; "" for the root' }),
    key: z.string(),
    parent: z.string().nullable(),
    kind: z.enum(['atomic', 'compound', 'parallel', 'final', 'history']),
    initial: z.string().nullable().openapi({ description: 'id of the initial child of a compound state' }),
    tags: z.array(z.string()),
    description: z.string().nullable(),
  })
  .openapi('MachineState');

export const MachineTransitionSchema = z
  .object({
    source: z.string(),
    targets: z.array(z.string()).openapi({ description: 'empty for a targetless transition' }),
    event: z.string().nullable().openapi({ description: 'null for delayed and eventless transitions' }),
    kind: z.enum(['event', 'after', 'always']),
    delay: z.string().nullable().openapi({ description: 'the delay name or milliseconds of an `after`' }),
    guard: z.string().nullable(),
    reenter: z.boolean(),
  })
  .openapi('MachineTransition');

export const MachineGraphSchema = z
  .object({
    type: z.string(),
    version: z.number().int(),
    machineId: z.string(),
    states: z.array(MachineStateSchema),
    transitions: z.array(MachineTransitionSchema),
  })
  .openapi('MachineDefinition', { description: 'the statechart of one saga version, to draw it' });

export const DeadLetterSchema = z
  .object({
    id: z
      .string()
      .openapi({ description: "the dead letter's sequence in the DLQ stream; use it to replay or delete" }),
    deadLetterId: z.string().openapi({ description: 'stream and sequence of the original message' }),
    consumer: z.string(),
    subject: z.string().openapi({ description: 'the original subject, without namespace' }),
    sagaId: z.string().nullable(),
    messageType: z.string().nullable(),
    reason: z.string().openapi({
      description:
        'why it was dead-lettered: `validation` (bad JSON, envelope or data), `contract` (a message version the consumer cannot read: newer than it knows, or older than its upcasters; the error says which version came, which is known and what to deploy), `not-found`, `conflict`, `terminal`, `exhausted` (attempts ran out), `unrouted` (no consumer reads its subject)',
    }),
    error: z.string(),
    attempts: z.number().int(),
    at: isoDateOrNull,
    headers: z.record(z.string(), z.string()),
    payload: z.string().openapi({ description: 'the original payload, as received' }),
  })
  .openapi('DeadLetter');

export const DeadLetterPageSchema = z
  .object({
    items: z.array(DeadLetterSchema),
    nextCursor: z.string().nullable(),
    links: z.object({ next: z.string().nullable() }),
  })
  .openapi('DeadLetterPage');

export const ReplayedSchema = z
  .object({
    id: z.string(),
    replayed: z.literal(true),
    subject: z.string(),
    msgId: z
      .string()
      .openapi({ description: 'the new Nats-Msg-Id; replaying the same dead letter twice publishes once' }),
    streamSeq: z.number().int(),
    duplicate: z.boolean(),
  })
  .openapi('DeadLetterReplayed');

export const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');
export const ReadySchema = z
  .object({ status: z.literal('ready'), checks: z.record(z.string(), z.enum(['ok', 'down'])) })
  .openapi('Ready');

export type Transition = z.infer<typeof TransitionSchema>;
export type SagaSummary = z.infer<typeof SagaSummarySchema>;
export type SagaView = z.infer<typeof SagaViewSchema>;
export type StalledCommandView = z.infer<typeof StalledCommandSchema>;
export type MachineGraph = z.infer<typeof MachineGraphSchema>;
export type DeadLetterView = z.infer<typeof DeadLetterSchema>;

/** The windows `GET /v1/overview` accepts, with their length; each is cut into 60 buckets. */
export const overviewWindows = { '5m': 5 * 60_000, '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000 };
export type OverviewWindowName = keyof typeof overviewWindows;

export const OverviewQuerySchema = z.object({
  window: z
    .enum(Object.keys(overviewWindows) as [OverviewWindowName, ...OverviewWindowName[]])
    .default('1h')
    .openapi({ description: 'how far back to look, ending now; cut into 60 buckets', example: '1h' }),
});

const countOf = (description: string) => z.number().int().min(0).openapi({ description });

export const OverviewSchema = z
  .object({
    window: z.string().openapi({ example: '1h' }),
    since: isoDate.openapi({ description: 'start of the window (inclusive)' }),
    until: isoDate.openapi({ description: 'end of the window: when this was computed' }),
    counts: z
      .object({
        total: countOf('sagas created, moved or ended in the window'),
        byStatus: z.record(SagaStatusSchema, z.number().int()).openapi({
          description: 'the same sagas by current status (every status present, 0 when none)',
        }),
        byType: z.array(
          z.object({
            type: z.string(),
            total: z.number().int(),
            byStatus: z.record(SagaStatusSchema, z.number().int()),
          }),
        ),
      })
      .openapi({ description: 'sagas created, moved or ended in the window, by current status and type' }),
    series: z
      .object({
        bucketSeconds: z.number().int().openapi({ example: 60 }),
        starts: z.array(z.number().int()).openapi({ description: 'sagas created per bucket, oldest first' }),
        ends: z.array(z.number().int()).openapi({ description: 'sagas ended per bucket, oldest first' }),
      })
      .openapi({ description: '60 buckets covering the window (per minute for 1h)' }),
    durations: z
      .object({
        sampled: z.boolean().openapi({
          description:
            'true when more sagas ended than the sample holds: the percentiles are of the latest ones',
        }),
        byType: z.array(
          z.object({
            type: z.string(),
            ended: z.number().int().openapi({ description: 'sagas measured' }),
            p50Ms: z.number(),
            p95Ms: z.number(),
          }),
        ),
      })
      .openapi({ description: 'created-to-ended duration of the sagas that ended in the window' }),
    reasons: z
      .array(
        z.object({
          reason: z.string(),
          status: SagaStatusSchema,
          type: z.string(),
          count: z.number().int(),
          links: z.object({
            sagas: z.string().openapi({
              description: 'the list of sagas of this type and status (filter further by reason there)',
              example: '/v1/sagas?type=order-fulfillment&status=compensated',
            }),
          }),
        }),
      )
      .openapi({
        description: 'the most frequent compensation and failure reasons (top 5), most frequent first',
      }),
    deadLetters: z
      .object({
        waiting: z.number().int(),
        byConsumer: z.array(z.object({ consumer: z.string(), count: z.number().int() })),
      })
      .nullable()
      .openapi({ description: 'dead letters in the DLQ stream now; null when NATS could not be read' }),
    consumers: z
      .array(
        z.object({
          stream: z.string(),
          consumer: z.string(),
          pending: z.number().int().openapi({ description: 'messages not yet delivered (num_pending)' }),
          ackPending: z.number().int().openapi({ description: 'delivered, not yet acknowledged' }),
          lag: z.number().int().openapi({ description: 'pending + ackPending' }),
        }),
      )
      .nullable()
      .openapi({ description: 'lag of each durable consumer now; null when NATS could not be read' }),
  })
  .openapi('Overview', { description: 'the fleet at a glance' });
