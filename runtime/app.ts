import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError } from './errors.ts';
import type { SagaDefinition } from './orchestrator/index.ts';
import { runtimeEventContracts, SagaRegistry } from './orchestrator/index.ts';
import type { ParticipantDefinition, ReactorDefinition } from './participants/index.ts';
import type { ContractLookup, MessageContract } from './wire/index.ts';

/**
 * What a deployment runs: its sagas, the participants that answer their commands, and the
 * reactors that react to events. Every role loads the same app (`--app <module>`) and runs
 * its part of it: `orchestrator` the sagas, `service <name>` one participant, `<reactor>` one
 * reactor, `api` the HTTP API over the sagas.
 */
export interface App {
  readonly registry: SagaRegistry;
  /** By service name (`jetsaga service <name>`). */
  readonly participants: Readonly<Record<string, ParticipantDefinition>>;
  /** By reactor name (`jetsaga <name>`). */
  readonly reactors: Readonly<Record<string, ReactorDefinition>>;
}

export interface AppSpec {
  /** Every version of every saga type the app runs (a running saga keeps its version). */
  sagas: readonly SagaDefinition[];
  participants?: readonly ParticipantDefinition[];
  reactors?: readonly ReactorDefinition[];
}

/** Role names the CLI keeps for itself; a reactor cannot take one. */
const reservedRoles = new Set([
  'api',
  'orchestrator',
  'service',
  'reactor',
  'all',
  'dev',
  'demo',
  'openapi',
  'asyncapi',
  'contracts',
  'provision',
  'help',
]);

/** The unit a deployment runs; the default export of the module given to `--app`. */
export function defineApp(spec: AppSpec): App {
  const fail = (field: string, message: string): never => {
    throw new ValidationError(`defineApp: ${field}: ${message}`, [{ field, message }]);
  };
  if (!spec || !Array.isArray(spec.sagas)) fail('sagas', 'give an array of saga definitions (defineSaga)');
  const participants: Record<string, ParticipantDefinition> = {};
  for (const p of spec.participants ?? []) {
    if (participants[p.name]) fail('participants', `"${p.name}" is given twice`);
    participants[p.name] = p;
  }
  const reactors: Record<string, ReactorDefinition> = {};
  for (const r of spec.reactors ?? []) {
    if (reactors[r.name]) fail('reactors', `"${r.name}" is given twice`);
    if (reservedRoles.has(r.name)) fail('reactors', `"${r.name}" is a built-in role; rename the reactor`);
    reactors[r.name] = r;
  }
  const app: App = { registry: new SagaRegistry().register(...spec.sagas), participants, reactors };
  // Two producers declaring one event type would give its receivers two contracts: refused here.
  eventContractsOf(app);
  return app;
}

const lookups = new WeakMap<App, ContractLookup>();

/**
 * Every event contract an app declares, by full type: its participants' `events`
 * (`<service>.<event>`), its reactors' `emits` (`<source>.<reaction>`) and the runtime's own
 * events (`saga.started`, `saga.timer`, `saga.cancel`, `saga.ended`). What the orchestrator and
 * the reactors upcast and validate incoming events by. Throws a ValidationError when two
 * producers declare one type with different contracts.
 */
export function eventContractsOf(app: Pick<App, 'participants' | 'reactors'>): ContractLookup {
  const cached = lookups.get(app as App);
  if (cached) return cached;
  const out = new Map<string, MessageContract>();
  const owner = new Map<string, string>();
  const add = (type: string, c: MessageContract, by: string) => {
    const seen = out.get(type);
    if (seen && seen !== c) {
      const field = by.startsWith('reactor') ? 'reactors' : 'participants';
      throw new ValidationError(
        `defineApp: ${field}: ${type} is declared by ${owner.get(type)} and by ${by}; one producer declares an event type`,
        [{ field, message: `${type} declared twice` }],
      );
    }
    out.set(type, c);
    owner.set(type, by);
  };
  for (const [type, c] of Object.entries(runtimeEventContracts)) add(type, c, 'the runtime');
  for (const p of Object.values(app.participants))
    for (const [name, c] of Object.entries(p.events ?? {})) add(`${p.name}.${name}`, c, `service ${p.name}`);
  for (const r of Object.values(app.reactors))
    for (const [name, c] of Object.entries(r.emits ?? {})) add(`${r.source}.${name}`, c, `reactor ${r.name}`);
  lookups.set(app as App, out);
  return out;
}

/** The environment variable that names the app module when `--app` is not given. */
export const appEnvVar = 'JETSAGA_APP';

export const noAppMessage =
  `no app to run: give the module whose default export is defineApp(...), ` +
  `with --app <module> (e.g. --app ./dist/app.js) or ${appEnvVar}=<module>`;

function isApp(value: unknown): value is App {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<App>;
  // Not instanceof: an app built against another copy of jetsaga (a global CLI, a linked package) is still an app.
  return (
    typeof v.registry?.types === 'function' &&
    typeof v.registry.latest === 'function' &&
    typeof v.participants === 'object' &&
    typeof v.reactors === 'object'
  );
}

/**
 * Imports an app module: a path (relative to `cwd`, or absolute) or a package name. Its default
 * export must be the value of defineApp.
 */
export async function loadApp(specifier: string, cwd = process.cwd()): Promise<App> {
  const isPath = /^(\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/])/.test(specifier) || /\.[cm]?[jt]s$/.test(specifier);
  const url = isPath ? pathToFileURL(path.resolve(cwd, specifier)).href : specifier;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ValidationError(`--app ${specifier}: cannot import it (${reason})`, [
      { field: 'app', message: 'give the path of a module whose default export is defineApp(...)' },
    ]);
  }
  if (!isApp(mod.default)) {
    throw new ValidationError(
      `--app ${specifier}: its default export is not an app; end the module with \`export default defineApp({ sagas, participants, reactors })\``,
      [{ field: 'app', message: 'default export must be defineApp(...)' }],
    );
  }
  return mod.default;
}
