import { z } from 'zod';
import { parseApiTokens } from './api-tokens.ts';

/**
 * Every setting of every role, in one table: the env var, the flag, the type, the default
 * and what it does. The table is the single source for parsing, `--help` and the README.
 * An app's participants and reactors add theirs to it with `defineSettings`.
 */
export interface ConfigOption<T extends z.ZodType = z.ZodType> {
  env: string;
  schema: T;
  help: string;
  /** The value is a secret: an error about it never shows it. */
  secret?: boolean;
}

const ms = z.coerce.number().int().nonnegative();
const positive = z.coerce.number().int().positive();

export const options = {
  app: {
    env: 'JETSAGA_APP',
    schema: z.string().min(1).optional(),
    help: 'module whose default export is the app (defineApp), a path or a package name',
  },
  natsUrl: {
    env: 'NATS_URL',
    schema: z.string().min(1).default('nats://127.0.0.1:4222'),
    help: 'NATS server(s), comma separated',
  },
  natsUser: {
    env: 'NATS_USER',
    schema: z.string().min(1).optional(),
    help: 'NATS user (with NATS_PASSWORD): one per role in production, see runtime/permissions.ts',
  },
  natsPassword: {
    env: 'NATS_PASSWORD',
    schema: z.string().min(1).optional(),
    help: "NATS_USER's password (from a Secret; never printed)",
    secret: true,
  },
  natsToken: {
    env: 'NATS_TOKEN',
    schema: z.string().min(1).optional(),
    help: 'NATS token, instead of a user (never printed)',
    secret: true,
  },
  natsCreds: {
    env: 'NATS_CREDS',
    schema: z.string().min(1).optional(),
    help: 'path of a NATS .creds file (JWT + nkey seed), instead of a user or token',
  },
  natsNkeySeed: {
    env: 'NATS_NKEY_SEED',
    schema: z.string().min(1).optional(),
    help: 'path of a file holding an nkey seed (SU...), instead of a user or token',
  },
  natsInboxPrefix: {
    env: 'NATS_INBOX_PREFIX',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'use dot-separated tokens of A-Z a-z 0-9 _ -')
      .optional(),
    help: 'reply subjects of this role (_INBOX.<NATS_USER> when a user is given, else _INBOX)',
  },
  natsTlsCa: {
    env: 'NATS_TLS_CA',
    schema: z.string().min(1).optional(),
    help: 'path of the CA certificate(s) that signed the NATS server certificate; turns TLS on',
  },
  natsTlsCert: {
    env: 'NATS_TLS_CERT',
    schema: z.string().min(1).optional(),
    help: 'path of a client certificate for NATS (mutual TLS, with NATS_TLS_KEY)',
  },
  natsTlsKey: {
    env: 'NATS_TLS_KEY',
    schema: z.string().min(1).optional(),
    help: "path of the client certificate's private key",
  },
  provision: {
    env: 'JETSAGA_PROVISION',
    schema: z.enum(['auto', 'skip']).default('auto'),
    help: 'auto: a role creates/updates the streams and consumers it uses at start; skip: it creates nothing (production, where `jetsaga provision` does it with its own NATS user)',
  },
  mongoUrl: {
    env: 'MONGO_URL',
    schema: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .default('mongodb://127.0.0.1:27017'),
    help: 'MongoDB connection string (a mongod, a replica set, or a MongoDB-wire server)',
  },
  mongoDb: {
    env: 'JETSAGA_MONGO_DB',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('jetsaga'),
    help: 'MongoDB database name',
  },
  namespace: {
    env: 'JETSAGA_NAMESPACE',
    schema: z
      .string()
      .regex(/^[a-z0-9_-]*$/, 'use lowercase letters, digits, - or _')
      .default(''),
    help: 'prefix for subjects and stream names, to share one NATS between environments',
  },
  httpHost: {
    env: 'JETSAGA_HTTP_HOST',
    schema: z.string().default('127.0.0.1'),
    help: 'HTTP listen address',
  },
  httpPort: {
    env: 'JETSAGA_HTTP_PORT',
    schema: z.coerce.number().int().min(0).max(65535).default(8080),
    help: 'HTTP listen port (0 picks a free one)',
  },
  opsHost: {
    env: 'JETSAGA_OPS_HOST',
    schema: z.string().min(1).optional(),
    help: "listen address of the ops endpoint (/healthz, /readyz, /metrics) every role serves; none: JETSAGA_HTTP_HOST's",
  },
  opsPort: {
    env: 'JETSAGA_OPS_PORT',
    schema: z.coerce.number().int().min(0).max(65535).default(0),
    help: 'port of the ops endpoint, one per process (0 picks a free one, logged as "ops endpoint"; deploy/k8s sets 9464)',
  },
  auth: {
    env: 'JETSAGA_AUTH',
    schema: z.enum(['tokens', 'off']).default('tokens'),
    help: 'API auth: bearer tokens from JETSAGA_API_TOKENS, or off (local use only; logged as a warning)',
  },
  apiTokens: {
    env: 'JETSAGA_API_TOKENS',
    schema: z
      .string()
      .default('')
      .transform((raw, ctx) => {
        const { tokens, issues } = parseApiTokens(raw);
        for (const message of issues) ctx.addIssue({ code: 'custom', message });
        return tokens;
      }),
    help: 'API bearer tokens, comma separated, each "<token>:<scope>" or "<name>:<token>:<scope>" with scope read, write or admin (each implies the ones before it); unnamed tokens are token-<n> in logs and saga history',
    secret: true,
  },
  corsOrigins: {
    env: 'JETSAGA_CORS_ORIGINS',
    schema: z
      .string()
      .default('')
      .transform((raw) =>
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      )
      .pipe(
        z.array(
          z.union([z.literal('*'), z.url({ message: 'use * or origins like https://ops.example.com' })]),
        ),
      ),
    help: 'browser origins allowed to call the API (comma separated, * for any); empty sends no CORS headers',
  },
  httpMaxBodyBytes: {
    env: 'JETSAGA_HTTP_MAX_BODY_BYTES',
    schema: positive.default(1024 * 1024),
    help: 'largest request body the API reads (413 beyond)',
  },
  ssePollMs: {
    env: 'JETSAGA_SSE_POLL_MS',
    schema: positive.default(250),
    help: 'how often a live event stream (SSE) looks for new transitions',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    help: 'pino log level',
  },
  duplicateWindowMs: {
    env: 'JETSAGA_DUPLICATE_WINDOW_MS',
    schema: positive.default(120_000),
    help: 'JetStream duplicate window of every stream',
  },
  streamReplicas: {
    env: 'JETSAGA_STREAM_REPLICAS',
    schema: z.coerce.number().int().min(1).max(5).default(1),
    help: 'replicas of every stream (3 on a NATS cluster)',
  },
  streamMaxAgeMs: {
    env: 'JETSAGA_STREAM_MAX_AGE_MS',
    schema: positive.default(7 * 24 * 3600_000),
    help: 'how long commands and events are kept',
  },
  dlqMaxAgeMs: {
    env: 'JETSAGA_DLQ_MAX_AGE_MS',
    schema: positive.default(30 * 24 * 3600_000),
    help: 'how long dead letters are kept',
  },
  retentionMs: {
    env: 'JETSAGA_RETENTION_MS',
    schema: ms.default(0),
    help: 'how long an ended saga and its history are kept before they are purged (0 keeps them for ever); at least JETSAGA_STREAM_MAX_AGE_MS + JETSAGA_DLQ_MAX_AGE_MS',
  },
  inboxRetentionMs: {
    env: 'JETSAGA_INBOX_RETENTION_MS',
    schema: ms.optional(),
    help: "how long a service's inbox records and a reactor's records are kept once the saga they belong to is no longer running (0 keeps them for ever; none: JETSAGA_STREAM_MAX_AGE_MS + JETSAGA_DLQ_MAX_AGE_MS, the least allowed)",
  },
  purgeIntervalMs: {
    env: 'JETSAGA_PURGE_INTERVAL_MS',
    schema: positive.default(60_000),
    help: 'how often ended sagas and old inbox records are looked for and purged',
  },
  purgeBatch: {
    env: 'JETSAGA_PURGE_BATCH',
    schema: positive.default(500),
    help: 'most sagas (or inbox records) one purge round deletes; a full round is followed by another at once',
  },
  ackWaitMs: {
    env: 'JETSAGA_ACK_WAIT_MS',
    schema: positive.default(30_000),
    help: 'consumer ack wait; handlers heartbeat before it',
  },
  maxDeliver: {
    env: 'JETSAGA_MAX_DELIVER',
    schema: z.coerce.number().int().min(2).default(20),
    help: 'attempts before a message is dead-lettered',
  },
  unknownSagaAttempts: {
    env: 'JETSAGA_UNKNOWN_SAGA_ATTEMPTS',
    schema: z.coerce.number().int().min(1).default(5),
    help: 'deliveries of an event whose saga is not in the store (and was not purged) before it is dead-lettered as not-found; a saga is stored before anything is published for it, so only a forged or misrouted event, or a lost store, gets that far (at most --max-deliver)',
  },
  retryBaseMs: {
    env: 'JETSAGA_RETRY_BASE_MS',
    schema: positive.default(200),
    help: 'first retry delay (doubles per attempt, with jitter)',
  },
  retryMaxMs: { env: 'JETSAGA_RETRY_MAX_MS', schema: positive.default(15_000), help: 'largest retry delay' },
  maxAckPending: {
    env: 'JETSAGA_MAX_ACK_PENDING',
    schema: positive.default(2048),
    help: 'unacked messages per consumer',
  },
  maxInFlight: {
    env: 'JETSAGA_MAX_IN_FLIGHT',
    schema: positive.default(512),
    help: 'messages handled concurrently per consumer',
  },
  actorIdleMs: {
    env: 'JETSAGA_ACTOR_IDLE_MS',
    schema: positive.default(30_000),
    help: 'an idle saga actor is passivated after this',
  },
  actorMaxLive: {
    env: 'JETSAGA_ACTOR_MAX_LIVE',
    schema: positive.default(10_000),
    help: 'live actors kept in memory (LRU beyond)',
  },
  inboxSize: {
    env: 'JETSAGA_INBOX_SIZE',
    schema: positive.default(64),
    help: 'recent message ids kept per saga for dedup',
  },
  historyContextBytes: {
    env: 'JETSAGA_HISTORY_CONTEXT_BYTES',
    // At most 128 KiB: a document holds 64 history entries (8 MiB of MongoDB's 16 MiB at most).
    schema: z.coerce.number().int().min(0).max(131_072).default(16_384),
    help: "largest context (bytes of JSON) a history entry keeps for the inspector's time travel; beyond, only its size (0: none; the inspector then replays it)",
  },
  sweepIntervalMs: {
    env: 'JETSAGA_SWEEP_INTERVAL_MS',
    schema: positive.default(5_000),
    help: 'how often the outbox recovery sweep runs',
  },
  outboxGraceMs: {
    env: 'JETSAGA_OUTBOX_GRACE_MS',
    schema: ms.default(3_000),
    help: 'age of an outbox entry before the sweep republishes it',
  },
  timerPollMs: {
    env: 'JETSAGA_TIMER_POLL_MS',
    schema: positive.default(250),
    help: 'how often due timers are looked for',
  },
  unroutedGraceMs: {
    env: 'JETSAGA_UNROUTED_GRACE_MS',
    schema: ms.default(60_000),
    help: 'age after which a command or event that no consumer reads is dead-lettered, once its subject has had no reader for as long (a new service has this long to create its consumer)',
  },
  unroutedIntervalMs: {
    env: 'JETSAGA_UNROUTED_INTERVAL_MS',
    schema: positive.default(30_000),
    help: 'how often the orchestrator looks for commands and events that no consumer reads',
  },
  storeCommandMetrics: {
    env: 'JETSAGA_STORE_COMMAND_METRICS',
    schema: z.enum(['on', 'off']).default('on'),
    help: 'time every MongoDB command for jetsaga_store_command_duration_seconds (on costs the driver a second decode of each reply: ~55 µs per saga load)',
  },
  shutdownTimeoutMs: {
    env: 'JETSAGA_SHUTDOWN_TIMEOUT_MS',
    schema: positive.default(20_000),
    help: 'longest graceful shutdown',
  },
} satisfies Record<string, ConfigOption>;
