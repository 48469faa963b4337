import type { App } from './app.ts';
import type { Role } from './roles.ts';
import { orchestratorDurable } from './orchestrator/orchestrator.ts';
import { RuntimeEvent } from './orchestrator/index.ts';
import { participantDurable, reactorDurable } from './participants/index.ts';
import type { DurableSpec } from './messaging/provision.ts';
import type { Topology } from './messaging/topology.ts';
import { unroutedConsumer } from './messaging/unrouted.ts';

/**
 * What each role may do on NATS, derived from the app and the topology: the one source of the
 * NATS users of docker-compose.yml, of the Kubernetes manifests (both checked by deploy:check)
 * and of the permissions test. Everything not granted is refused by the server.
 *
 * - A participant consumes its own commands through its own durable and publishes its own
 *   events and its dead letters.
 * - The orchestrator consumes every event through its durable and publishes commands, timer
 *   events, the start events its outbox sweep republishes, `saga.ended`, and its dead letters. Its unrouted
 *   guard reads the command and event streams' subjects and durables, and dead-letters then
 *   deletes single messages no durable reads (`dlq.unrouted`).
 * - A reactor consumes its event types through its durable and publishes its source's events
 *   (and saga starts, when allowed: `reactorsStartingSagas`).
 * - The api publishes saga starts, cancels, resumes and signals, reads and deletes dead letters, and replays them
 *   to their original subject (any command or event: `apiReplay: false` takes that away),
 *   reading the original from its stream when the dead letter could not hold it. It reads the
 *   consumers' lag and the dead letters per consumer for /metrics.
 * - Only `provision` creates and updates streams and consumers; nobody deletes them.
 *
 * Every role subscribes to its own reply subjects only (`_INBOX.<user>.>`, see the runtime's
 * NATS_INBOX_PREFIX): with one `_INBOX.>` for all, any role could read the replies of the others,
 * which carry the messages their consumers pull.
 */
export type PermissionRole = Role | { kind: 'provision' };

export interface Grant {
  subject: string;
  /** Why the role needs it (a comment in the generated NATS config). */
  why: string;
}

export interface RolePermissions {
  role: PermissionRole;
  /** The role as `jetsaga` runs it: `api`, `orchestrator`, `service inventory`, `fraud-agent`, `provision`. */
  command: string;
  /** Its NATS user (NATS_USER). */
  user: string;
  /** Its reply subjects' prefix (NATS_INBOX_PREFIX; the runtime derives it from NATS_USER). */
  inboxPrefix: string;
  /** Environment variable the NATS server reads the user's password from in the generated config. */
  passwordEnv: string;
  /** The durable consumer it reads through, if any. */
  durable?: DurableSpec;
  publish: Grant[];
  subscribe: Grant[];
}

export interface PermissionOptions {
  /** The api may replay dead letters to their original subject (any command or event); default true. */
  apiReplay?: boolean;
  /** Reactors that start sagas (ReactionContext.startSaga, schedules); others may not publish saga starts. */
  reactorsStartingSagas?: readonly string[];
}

/** The NATS user of a role: `api`, `orchestrator`, `provision`, `svc-<name>`, `<reactor>`; namespaced as `<ns>-<user>`. */
export function natsUserOf(role: PermissionRole, namespace = ''): string {
  const base = role.kind === 'service' ? `svc-${role.name}` : role.kind === 'reactor' ? role.name : role.kind;
  return namespace ? `${namespace}-${base}` : base;
}

/** The reply-subject prefix a role's connection uses (what the runtime derives from NATS_USER). */
export const inboxPrefixOf = (user: string): string => `_INBOX.${user}`;

/** `svc-inventory` -> `NATS_PASSWORD_SVC_INVENTORY`. */
export const passwordEnvOf = (user: string): string =>
  `NATS_PASSWORD_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** Every durable consumer the app's roles read through, as the roles declare them. */
export function durablesOf(app: App, topo: Topology): DurableSpec[] {
  return [
    { stream: topo.streams.evt, durable: orchestratorDurable, filter: topo.allEvt },
    ...Object.keys(app.participants).map((name) => participantDurable(name, topo)),
    ...Object.values(app.reactors).map((def) => reactorDurable(def, topo)),
  ];
}

/** Pulling from one durable and settling what it delivers, nothing about any other consumer. */
function consumerGrants(d: DurableSpec): Grant[] {
  const at = `${d.stream}.${d.durable}`;
  return [
    { subject: `$JS.API.CONSUMER.INFO.${at}`, why: `look up its durable ${d.durable}` },
    { subject: `$JS.API.CONSUMER.MSG.NEXT.${at}`, why: `pull from ${d.durable}` },
    { subject: `$JS.ACK.${at}.>`, why: `ack, nak, term, in-progress of what ${d.durable} delivered` },
  ];
}

const inboxGrant = (user: string): Grant => ({
  subject: `${inboxPrefixOf(user)}.>`,
  why: 'its own replies: PubAcks, JetStream API answers, pulled messages',
});

/**
 * The NATS permissions of every role the app deploys, plus `provision`: publish and subscribe
 * allow-lists, namespaced by the topology. Throws when two roles would share a user or a
 * dead-letter subject, or a role would get the runtime's own events.
 */
export function natsPermissions(app: App, topo: Topology, opts: PermissionOptions = {}): RolePermissions[] {
  const ns = topo.namespace;
  const durables = new Map(durablesOf(app, topo).map((d) => [d.durable, d]));
  const sagaStarted = topo.evtSubject(RuntimeEvent.started);
  const roles: RolePermissions[] = [];
  const add = (role: PermissionRole, command: string, durable: DurableSpec | undefined, publish: Grant[]) => {
    const user = natsUserOf(role, ns);
    const consumer = durable
      ? [...consumerGrants(durable), { subject: topo.dlqSubject(durable.durable), why: 'its dead letters' }]
      : [];
    roles.push({
      role,
      command,
      user,
      inboxPrefix: inboxPrefixOf(user),
      passwordEnv: passwordEnvOf(user),
      ...(durable ? { durable } : {}),
      publish: [...publish, ...consumer],
      subscribe: [inboxGrant(user)],
    });
  };

  for (const name of Object.keys(app.participants)) {
    if (name === 'saga')
      throw new Error('participant "saga": evt.saga.* are the runtime\'s events; rename it');
    add({ kind: 'service', name }, `service ${name}`, participantDurable(name, topo), [
      { subject: topo.evtSubject(`${name}.>`), why: 'its replies to commands' },
    ]);
  }
  const startingSagas = new Set(opts.reactorsStartingSagas ?? []);
  for (const name of startingSagas)
    if (!app.reactors[name]) throw new Error(`reactorsStartingSagas: "${name}" is not a reactor of the app`);
  for (const def of Object.values(app.reactors)) {
    if (def.source === 'saga')
      throw new Error(`reactor ${def.name}: source "saga" would let it forge the runtime's saga events`);
    add({ kind: 'reactor', name: def.name }, def.name, reactorDurable(def, topo), [
      { subject: topo.evtSubject(`${def.source}.>`), why: `its reactions (source ${def.source})` },
      ...(startingSagas.has(def.name) ? [{ subject: sagaStarted, why: 'sagas it starts' }] : []),
    ]);
  }
  const guarded = [topo.streams.cmd, topo.streams.evt];
  add({ kind: 'orchestrator' }, 'orchestrator', durables.get(orchestratorDurable), [
    { subject: topo.allCmd, why: 'commands of saga steps' },
    { subject: topo.evtSubject(RuntimeEvent.timer), why: 'due timers' },
    { subject: sagaStarted, why: 'start events the outbox sweep republishes' },
    { subject: topo.evtSubject(RuntimeEvent.ended), why: 'saga.ended of each saga that ends' },
    // The unrouted guard: messages no durable reads are dead-lettered, then removed one by one.
    ...guarded.flatMap((s) => [
      { subject: `$JS.API.STREAM.INFO.${s}`, why: 'unrouted guard: subjects with messages' },
      { subject: `$JS.API.CONSUMER.LIST.${s}`, why: 'unrouted guard: what the durables read' },
      { subject: `$JS.API.STREAM.MSG.GET.${s}`, why: 'unrouted guard: read an unread message' },
      { subject: `$JS.API.STREAM.MSG.DELETE.${s}`, why: 'unrouted guard: remove it once dead-lettered' },
    ]),
    { subject: topo.dlqSubject(unroutedConsumer), why: 'unrouted guard: its dead letters' },
  ]);
  const dlq = topo.streams.dlq;
  const replay = opts.apiReplay ?? true;
  add({ kind: 'api' }, 'api', undefined, [
    ...(replay
      ? [
          { subject: topo.allEvt, why: 'saga starts and cancels; dead-letter replay to the original event' },
          { subject: topo.allCmd, why: 'dead-letter replay to the original command' },
        ]
      : [
          { subject: sagaStarted, why: 'saga starts' },
          { subject: topo.evtSubject(RuntimeEvent.cancel), why: 'cancel requests' },
          { subject: topo.evtSubject(RuntimeEvent.resume), why: 'resume requests' },
          { subject: topo.evtSubject('saga.signal.>'), why: 'signals to sagas' },
        ]),
    { subject: '$JS.API.INFO', why: 'JetStream manager (dead letters, metrics)' },
    { subject: `$JS.API.STREAM.INFO.${dlq}`, why: 'dead letters per consumer' },
    { subject: `$JS.API.STREAM.MSG.GET.${dlq}`, why: 'read dead letters' },
    { subject: `$JS.API.STREAM.MSG.DELETE.${dlq}`, why: 'delete (and replay) dead letters' },
    ...[topo.streams.cmd, topo.streams.evt].map((s) => ({
      subject: `$JS.API.STREAM.MSG.GET.${s}`,
      why: 'replay: the original of a dead letter too large to hold it',
    })),
    { subject: `$JS.API.CONSUMER.LIST.${topo.streams.cmd}`, why: 'consumer lag for /metrics' },
    { subject: `$JS.API.CONSUMER.LIST.${topo.streams.evt}`, why: 'consumer lag for /metrics' },
  ]);
  const streams = Object.values(topo.streams);
  add({ kind: 'provision' }, 'provision', undefined, [
    { subject: '$JS.API.INFO', why: 'JetStream manager' },
    ...streams.flatMap((s) =>
      ['INFO', 'CREATE', 'UPDATE'].map((op) => ({
        subject: `$JS.API.STREAM.${op}.${s}`,
        why: `${op.toLowerCase()} stream ${s}`,
      })),
    ),
    ...[...durables.values()].flatMap((d) => {
      const at = `${d.stream}.${d.durable}`;
      const several = typeof d.filter !== 'string' && d.filter.length > 1;
      return [
        { subject: `$JS.API.CONSUMER.INFO.${at}`, why: `look up durable ${d.durable}` },
        { subject: `$JS.API.CONSUMER.CREATE.${at}`, why: `create or update ${d.durable}` },
        { subject: `$JS.API.CONSUMER.CREATE.${at}.>`, why: `the same, one filter (in the subject)` },
        // The client sends a durable with several filters (filter_subjects) to the older API.
        ...(several
          ? [{ subject: `$JS.API.CONSUMER.DURABLE.CREATE.${at}`, why: `the same, several filters` }]
          : []),
      ];
    }),
  ]);

  const seen = new Map<string, string>([
    [`dead-letter subject ${topo.dlqSubject(unroutedConsumer)}`, 'orchestrator (unrouted guard)'],
  ]);
  for (const r of roles) {
    const dlqSubject = r.durable ? topo.dlqSubject(r.durable.durable) : undefined;
    for (const key of [`user ${r.user}`, ...(dlqSubject ? [`dead-letter subject ${dlqSubject}`] : [])]) {
      const other = seen.get(key);
      if (other) throw new Error(`roles "${other}" and "${r.command}" would share the ${key}; rename one`);
      seen.set(key, r.command);
    }
  }
  return roles;
}

export interface AccountsConfigOptions {
  /** NATS account holding the users; JetStream is enabled for it. */
  account?: string;
  /**
   * The value of a user's `password` in the config: by default a reference to the environment
   * variable `passwordEnv` (the server reads it at start), so the config holds no secret.
   */
  password?: (role: RolePermissions) => string;
  /** Comment lines at the top. */
  header?: readonly string[];
}

const quote = (s: string) => JSON.stringify(s);

/**
 * The `accounts` block of a nats-server config with one user per role and its allow-lists
 * (`include` it from the server's config). No `no_auth_user`: a connection without credentials
 * is refused.
 */
export function natsAccountsConfig(
  roles: readonly RolePermissions[],
  opts: AccountsConfigOptions = {},
): string {
  const password = opts.password ?? ((r: RolePermissions) => `$${r.passwordEnv}`);
  const list = (grants: Grant[], indent: string) => {
    const width = Math.max(...grants.map((g) => quote(g.subject).length));
    return grants.map((g) => `${indent}${quote(g.subject).padEnd(width)}  # ${g.why}`).join('\n');
  };
  const users = roles.map((r) =>
    [
      `      # jetsaga ${r.command}`,
      `      {`,
      `        user: ${quote(r.user)}`,
      `        password: ${password(r)}`,
      `        permissions: {`,
      `          publish: {`,
      `            allow: [`,
      list(r.publish, '              '),
      `            ]`,
      `          }`,
      `          subscribe: {`,
      `            allow: [`,
      list(r.subscribe, '              '),
      `            ]`,
      `          }`,
      `        }`,
      `      }`,
    ].join('\n'),
  );
  return [
    ...(opts.header ?? []).map((line) => `# ${line}`.trimEnd()),
    `accounts {`,
    `  ${opts.account ?? 'JETSAGA'} {`,
    `    jetstream: enabled`,
    `    users: [`,
    users.join('\n'),
    `    ]`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}
