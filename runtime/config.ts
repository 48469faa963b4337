import { z } from 'zod';
import { type ConfigOption, options } from './config-options.ts';
import { ValidationError } from './errors.ts';

export type { ConfigOption } from './config-options.ts';

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
  const config = readRows<Config>(mainRows, values, env);
  checkRetention(config);
  return { config, rest };
}

/**
 * The shortest retention of ended sagas and of inbox records: a command or event is redelivered
 * from its stream for up to `streamMaxAgeMs`, and its dead letter may be replayed for up to
 * `dlqMaxAgeMs` after that, and either must still find the saga and the inbox record it belongs to.
 */
export function retentionFloorMs(config: Pick<Config, 'streamMaxAgeMs' | 'dlqMaxAgeMs'>): number {
  return config.streamMaxAgeMs + config.dlqMaxAgeMs;
}

/** How long inbox records are kept (0: for ever): the setting, or the floor when it is not set. */
export function inboxRetentionMs(
  config: Pick<Config, 'inboxRetentionMs' | 'streamMaxAgeMs' | 'dlqMaxAgeMs'>,
): number {
  return config.inboxRetentionMs ?? retentionFloorMs(config);
}

/**
 * Refuses a retention below its floor (`retentionFloorMs`), naming the setting, the floor and why;
 * 0 (keep for ever) is always allowed. `loadConfig` and `startNode` call it.
 */
export function checkRetention(config: Config): void {
  const floor = retentionFloorMs(config);
  const issues = (['retentionMs', 'inboxRetentionMs'] as const).flatMap((key) => {
    const value = config[key];
    if (value === undefined || value === 0 || value >= floor) return [];
    return [
      {
        field: `${flagOf(key)} / ${options[key].env}`,
        message: `${value} ms is below its floor of ${floor} ms (JETSAGA_STREAM_MAX_AGE_MS ${config.streamMaxAgeMs} + JETSAGA_DLQ_MAX_AGE_MS ${config.dlqMaxAgeMs}): until then a message can still be redelivered from its stream or replayed from the dead-letter queue, and must find what it belongs to; raise it, lower those, or use 0 to keep them for ever`,
      },
    ];
  });
  if (issues.length > 0)
    throw new ValidationError(
      `invalid configuration:\n${issues.map((i) => `  ${i.field}: ${i.message}`).join('\n')}`,
      issues,
    );
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
