import { z } from 'zod';
import { parseApiTokens } from './api-tokens.ts';
import { ValidationError } from './errors.ts';

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

const options = {
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
  historyLingerMs: {
    env: 'JETSAGA_HISTORY_LINGER_MS',
    schema: ms.default(20),
    help: "a transition's history copy waits this long for others to share its write (0: at once)",
  },
  timerPollMs: {
    env: 'JETSAGA_TIMER_POLL_MS',
    schema: positive.default(250),
    help: 'how often due timers are looked for',
  },
  unroutedGraceMs: {
    env: 'JETSAGA_UNROUTED_GRACE_MS',
    schema: ms.default(60_000),
    help: 'age after which a command or event that no consumer reads is dead-lettered (a new service has this long to create its consumer)',
  },
  unroutedIntervalMs: {
    env: 'JETSAGA_UNROUTED_INTERVAL_MS',
    schema: positive.default(30_000),
    help: 'how often the orchestrator looks for commands and events that no consumer reads',
  },
  shutdownTimeoutMs: {
    env: 'JETSAGA_SHUTDOWN_TIMEOUT_MS',
    schema: positive.default(20_000),
    help: 'longest graceful shutdown',
  },
} satisfies Record<string, ConfigOption>;

type Options = typeof options;
/** The values of a table of options, each as its schema outputs it. */
export type SettingValues<O extends Record<string, ConfigOption>> = {
  [K in keyof O]: z.output<O[K]['schema']>;
};
export type Config = SettingValues<Options>;
export type ConfigKey = keyof Config;

const keys = Object.keys(options) as ConfigKey[];
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** One row of the table: the key its values have, the flag that sets it, and its option. */
interface Row {
  key: string;
  flag: string;
  option: ConfigOption;
}

const mainRows: readonly Row[] = keys.map((key) => ({ key, flag: flagOf(key), option: options[key] }));
/** Rows added by `defineSettings`, in the order they were. */
const appRows: Row[] = [];

/** Parses `--flag value` / `--flag=value` pairs for the flags of `rows`; returns the leftovers too. */
function parseFlags(
  argv: readonly string[],
  rows: readonly Row[],
): { values: Map<string, string>; rest: string[] } {
  const known = new Set(rows.map((r) => r.flag));
  const values = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!known.has(flag)) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined)
      throw new ValidationError(`${flag} needs a value`, [{ field: flag, message: 'missing value' }]);
    values.set(flag, value);
  }
  return { values, rest };
}

/**
 * The values of `rows` from flags (which win) and env. An invalid value is reported with the
 * flag and env var that set it, and what is accepted; every invalid value at once.
 */
function readRows<T>(rows: readonly Row[], flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): T {
  const raw: Record<string, unknown> = {};
  for (const { key, flag, option } of rows) {
    const value = flags.get(flag) ?? env[option.env];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = z.object(Object.fromEntries(rows.map((r) => [r.key, r.option.schema]))).safeParse(raw);
  if (!parsed.success) {
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const issues = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const { flag, option } = byKey.get(key)!;
      return {
        field: `${flag} / ${option.env}`,
        // A secret (tokens, passwords): the error names the entry at fault, never its value.
        message: option.secret ? issue.message : `${issue.message} (got ${JSON.stringify(raw[key])})`,
      };
    });
    throw new ValidationError(
      `invalid configuration:\n${issues.map((i) => `  ${i.field}: ${i.message}`).join('\n')}\nrun with --help for every option and its default`,
      issues,
    );
  }
  return parsed.data as T;
}

/**
 * Reads the config from env and flags (flags win). An invalid value is reported with the
 * flag and env var that set it, and what is accepted. The flags of the settings an app defined
 * (`defineSettings`) before are accepted too, not left in `rest`: their settings read them
 * (`load`), and check them, where they are used.
 */
export function loadConfig(
  argv: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): { config: Config; rest: string[] } {
  const { values, rest } = parseFlags(argv, appRows.length > 0 ? [...mainRows, ...appRows] : mainRows);
  return { config: readRows<Config>(mainRows, values, env), rest };
}

/** The defaults, for tests and programmatic use. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig([], {}).config, ...overrides };
}

/** The value `--help` shows as an option's default: its schema's output for no value. */
function defaultOf(option: ConfigOption): string {
  const parsed = option.schema.safeParse(undefined);
  if (!parsed.success) return 'required';
  return parsed.data === undefined ? 'none' : JSON.stringify(parsed.data);
}

export function configHelp(): string {
  const defaults = defaultConfig();
  const row = (flag: string, option: ConfigOption, def: string) =>
    `  ${`${flag} <v>`.padEnd(30)} ${option.env.padEnd(30)} ${option.help} (default ${def})`;
  const rows = [
    ...keys.map((k) =>
      row(flagOf(k), options[k], defaults[k] === undefined ? 'none' : JSON.stringify(defaults[k])),
    ),
    ...appRows.map((r) => row(r.flag, r.option, defaultOf(r.option))),
  ];
  return `Options (flag, env var, meaning, default):\n${rows.join('\n')}`;
}

/** Env var names the config knows, for manifest checks. */
export const configEnvVars: readonly string[] = keys.map((k) => options[k].env);

/** Settings an app declared with `defineSettings`: their options, and their values. */
export interface Settings<O extends Record<string, ConfigOption>> {
  readonly options: O;
  /**
   * The values, from `env` and the flags in `argv` (flags win; other arguments are ignored): by
   * default the process's environment and command line, which `loadConfig` read too. Every key
   * is present, `undefined` when it has no value. Throws a ValidationError naming the flag and
   * env var of every invalid value, as `loadConfig` does.
   */
  load(env?: NodeJS.ProcessEnv, argv?: readonly string[]): SettingValues<O>;
}

const envVarName = /^[A-Z][A-Z0-9_]*$/;

/**
 * Adds an app's settings (a participant's, a reactor's) to the one table: the same option shape
 * as jetsaga's own, listed by `jetsaga help`, read and checked the same way. Each env var must
 * be new; its flag is the env var without `JETSAGA_`, lowercase and dashed
 * (`JETSAGA_FRAUD_LLM_URL`: `--fraud-llm-url`). Call it once, at import.
 */
export function defineSettings<const O extends Record<string, ConfigOption>>(table: O): Settings<O> {
  const rows: Row[] = Object.entries(table).map(([key, option]) => ({
    key,
    flag: `--${option.env
      .replace(/^JETSAGA_/, '')
      .toLowerCase()
      .replace(/_/g, '-')}`,
    option,
  }));
  const taken = [...mainRows, ...appRows];
  for (const row of rows) {
    if (!envVarName.test(row.option.env))
      throw new ValidationError(`setting ${row.key}: env var "${row.option.env}" must be A-Z, 0-9 and _`);
    const clash = [...taken, ...rows].find(
      (r) => r !== row && (r.option.env === row.option.env || r.flag === row.flag),
    );
    if (clash)
      throw new ValidationError(
        `setting ${row.key}: ${row.option.env} (${row.flag}) is already a setting (${clash.option.env}, ${clash.flag})`,
      );
  }
  appRows.push(...rows);
  // Every key, also those without a value (`undefined`), as the values' type says.
  const complete = (values: SettingValues<O>): SettingValues<O> => {
    for (const { key } of rows) if (!(key in values)) (values as Record<string, unknown>)[key] = undefined;
    return values;
  };
  return {
    options: table,
    load: (env = process.env, argv = process.argv.slice(2)) =>
      complete(readRows(rows, parseFlags(argv, rows).values, env)),
  };
}
