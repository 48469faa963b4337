// Each role on its own NATS user with the permissions runtime/permissions.ts generates, on a
// nats-server of this test's own (the shared one has no users): the order saga runs to `completed`, and
// whatever a role may not do is refused by the server and logged by the Bus.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { Empty, nkeys, PermissionViolationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Config, defaultConfig } from '../../runtime/config.ts';
import { ensureNatsServer } from '../../runtime/dev/binaries.ts';
import { findOnPath } from '../../runtime/dev/exec.ts';
import type { ManagedProcess } from '../../runtime/dev/local-process.ts';
import { natsServerProcess } from '../../runtime/dev/server-processes.ts';
import { natsSecurityOptions } from '../../runtime/messaging/bus.ts';
import { Bus, topology } from '../../runtime/messaging/index.ts';
import { startSagaOnce } from '../../runtime/orchestrator/index.ts';
import {
  durablesOf,
  natsAccountsConfig,
  natsPermissions,
  type RolePermissions,
} from '../../runtime/permissions.ts';
import { allRoles, provisionApp, type RunningNode, startNode } from '../../runtime/node.ts';
import { nodeMetricsSource } from '../../runtime/node-metrics.ts';
import { REACTORS_STARTING_SAGAS } from '../../scripts/deploy/nats-auth.ts';
import { appForTests } from '../dist.ts';
import { dropTestDatabase, order, testEnvelope, waitUntil } from '../harness.ts';

interface LogLine {
  level: number;
  msg: string;
  role: string;
  subject?: string;
  operation?: string;
  nats?: string;
}

const ns = `p${randomBytes(3).toString('hex')}`;
const topo = topology(ns);
// The grants the deployments get (scripts/deploy/nats-auth.ts): the restock agent may start sagas.
const perms = natsPermissions(appForTests, topo, { reactorsStartingSagas: REACTORS_STARTING_SAGAS });
const byCommand = new Map(perms.map((p) => [p.command, p]));
const passwords = new Map(perms.map((p) => [p.user, randomBytes(18).toString('base64url')]));
const logs: LogLine[] = [];
const violations = () => logs.filter((l) => l.nats === 'permission-violation');

/** The server's refusal behind an error: a request fails with a RequestError caused by it. */
function refusal(err: unknown): PermissionViolationError | undefined {
  if (err instanceof PermissionViolationError) return err;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof PermissionViolationError ? cause : undefined;
}
const refusalOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => refusal(err) ?? err,
  );

function loggerFor(role: string) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logs.push({ ...(JSON.parse(line) as LogLine), role });
      done();
    },
  });
  return pino({ level: 'warn', base: { role } }, sink);
}

describe('NATS permissions per role', () => {
  let dir: string;
  let server: ManagedProcess;
  let mongoDb: string;
  let provisioner: Bus;
  const nodes = new Map<string, RunningNode>();

  const configOf = (p: RolePermissions, over: Partial<Config> = {}): Config =>
    defaultConfig({
      natsUrl: server.url,
      mongoUrl: inject('mongoUrl'),
      mongoDb,
      namespace: ns,
      httpPort: 0,
      auth: 'off',
      logLevel: 'warn',
      natsUser: p.user,
      natsPassword: passwords.get(p.user)!,
      provision: 'skip',
      ...over,
    });
  const node = (command: string) => nodes.get(command)!;
  const envelope = () =>
    testEnvelope('payment.authorize', `forged-${randomBytes(4).toString('hex')}`, 'saga-x', {});

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-nats-permissions-'));
    const conf = path.join(dir, 'nats.conf');
    await writeFile(
      conf,
      natsAccountsConfig(perms, { password: (p) => JSON.stringify(passwords.get(p.user)) }),
    );
    server = natsServerProcess(await ensureNatsServer(), { configFile: conf });
    await server.start();
    mongoDb = `jetsaga_${ns}`;

    // `jetsaga provision`, as the provision user: streams, then every role's durable.
    const provision = byCommand.get('provision')!;
    await provisionApp(configOf(provision, { provision: 'auto' }), appForTests, loggerFor('provision'));
    provisioner = await Bus.connect(
      configOf(provision, { provision: 'auto' }),
      loggerFor('provision'),
      'jetsaga-provision',
    );

    // One node per role, each on its own user, none provisioning. The orchestrator's unrouted guard
    // sweeps often here, and dead-letters what no durable reads at once.
    const guard = { unroutedIntervalMs: 200, unroutedGraceMs: 0 };
    for (const role of allRoles(appForTests)) {
      const p = perms.find((r) => JSON.stringify(r.role) === JSON.stringify(role))!;
      const config = Object.assign(configOf(p), role.kind === 'orchestrator' ? guard : {});
      nodes.set(p.command, await startNode(config, appForTests, [role], loggerFor(p.command)));
    }
  });

  afterAll(async () => {
    for (const n of [...nodes.values()].reverse()) await n.stop().catch(() => undefined);
    await provisioner?.close();
    await server?.stop();
    await dropTestDatabase(inject('mongoUrl'), mongoDb);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs an order saga to completed with every role on its own user', async () => {
    const api = node('api');
    const res = await fetch(`${api.api!.url}/v1/saga-types/order-fulfillment/sagas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order({ orderId: `ord-${ns}` })),
    });
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    let doc = await api.store.load(sagaId);
    await waitUntil(
      async () => {
        doc = await api.store.load(sagaId);
        return doc?.status === 'completed';
      },
      () => `saga ${sagaId} to complete: ${doc?.status} in ${doc?.state}`,
      30_000,
      50,
    );
    // The fraud agent's verdict was part of it.
    expect((await api.mongo.db(mongoDb).collection('fraud_verdicts').countDocuments({ sagaId })) > 0).toBe(
      true,
    );
    // The api reads the dead-letter stream (empty here) with its own grants.
    expect((await fetch(`${api.api!.url}/v1/dlq`)).status).toBe(200);
    // Every role acked all it was delivered (with its own ack grants), and nothing was refused.
    const jsm = await jetstreamManager(provisioner.nc);
    for (const d of durablesOf(appForTests, topo))
      await expect
        .poll(async () => {
          const info = await jsm.consumers.info(d.stream, d.durable);
          return { durable: d.durable, pending: info.num_pending, unacked: info.num_ack_pending };
        })
        .toEqual({ durable: d.durable, pending: 0, unacked: 0 });
    // What the api reads for /metrics (in production the only metrics source of its process).
    const snapshot = await nodeMetricsSource({
      id: `api-${ns}`,
      bus: api.bus,
      store: api.store,
      consumers: () => [],
    }).snapshot();
    expect(snapshot.consumerInfo?.map((c) => c.consumer).sort()).toEqual(
      durablesOf(appForTests, topo)
        .map((d) => d.durable)
        .sort(),
    );
    expect(snapshot.dlq).toEqual([]);
    expect(violations()).toEqual([]);
  });

  it('lets the orchestrator dead-letter a command no durable reads, and the api read it', async () => {
    const api = node('api');
    // The api may publish any command (it replays dead letters to their original subject).
    await api.bus.publish(
      'cmd.nosuch.do',
      testEnvelope('nosuch.do', `unrouted-${ns}`, 'saga-u', {}),
      `u-${ns}`,
    );
    await expect
      .poll(
        async () => {
          const res = await fetch(`${api.api!.url}/v1/dlq?consumer=unrouted`);
          const { items } = (await res.json()) as { items: Array<{ subject: string }> };
          return items.map((i) => i.subject);
        },
        { timeout: 10_000 },
      )
      .toEqual(['cmd.nosuch.do']);
    expect(violations()).toEqual([]);
  });

  it('refuses a participant that publishes a command or another service event, and logs it', async () => {
    const inventory = node('service inventory');
    for (const subject of ['cmd.payment.authorize', 'evt.payment.authorized', 'evt.saga.started']) {
      const err = await refusalOf(inventory.bus.publish(subject, envelope(), `forged-${subject}`));
      expect(err, subject).toBeInstanceOf(PermissionViolationError);
      expect((err as PermissionViolationError).subject).toBe(`${ns}.${subject}`);
    }
    // Reported on the status stream: the Bus logs it at error level, with the subject.
    await expect.poll(() => violations().filter((l) => l.role === 'service inventory').length).toBe(3);
    for (const line of violations()) {
      expect(line.level).toBe(50);
      expect(line.operation).toBe('publish');
      expect(line.msg).toContain(`refused`);
    }
    expect(violations().map((l) => l.subject)).toEqual([
      `${ns}.cmd.payment.authorize`,
      `${ns}.evt.payment.authorized`,
      `${ns}.evt.saga.started`,
    ]);
  });

  it("refuses a participant that reads others' messages: subjects, another durable, all replies", async () => {
    const { nc } = node('service inventory').bus;
    const before = violations().length;
    for (const subject of [`${ns}.cmd.>`, `${ns}.evt.>`, '_INBOX.>', '_INBOX.orchestrator.>']) {
      const sub = nc.subscribe(subject);
      const err = await (async () => {
        for await (const _ of sub) return undefined;
        return undefined;
      })().catch((e: unknown) => e);
      expect(err, subject).toBeInstanceOf(PermissionViolationError);
    }
    const next = `$JS.API.CONSUMER.MSG.NEXT.${topo.streams.cmd}.svc-payment`;
    expect(await refusalOf(nc.request(next, Empty, { timeout: 2_000 }))).toBeInstanceOf(
      PermissionViolationError,
    );
    await expect.poll(() => violations().length - before).toBe(5);
    expect(
      violations()
        .slice(before)
        .map((l) => l.operation),
    ).toEqual(['subscription', 'subscription', 'subscription', 'subscription', 'publish']);
  });

  it('refuses every role, the provision user too, a stream deletion', async () => {
    const connections = [
      ...[...nodes].map(([command, n]) => [command, n.bus.nc] as const),
      ['provision', provisioner.nc] as const,
    ];
    expect(connections).toHaveLength(perms.length);
    for (const [command, nc] of connections) {
      for (const stream of Object.values(topo.streams)) {
        const err = await refusalOf(nc.request(`$JS.API.STREAM.DELETE.${stream}`, Empty, { timeout: 2_000 }));
        expect(err, `${command} deleting ${stream}`).toBeInstanceOf(PermissionViolationError);
      }
      // Nor may any role but provision create or change a consumer.
      if (command !== 'provision') {
        const err = await refusalOf(
          nc.request(`$JS.API.CONSUMER.CREATE.${topo.streams.evt}.intruder`, Empty, { timeout: 2_000 }),
        );
        expect(err, `${command} creating a consumer`).toBeInstanceOf(PermissionViolationError);
      }
    }
    const info = await provisioner.nc.request(`$JS.API.STREAM.INFO.${topo.streams.evt}`, Empty);
    expect(info.json<{ config?: { name: string } }>().config?.name).toBe(topo.streams.evt);
  });

  it('lets the restock agent start a saga on its own user, and refuses a saga start from another reactor', async () => {
    const agent = node('restock-agent');
    const before = violations().length;
    const recommendationId = `rec-${ns}`;
    const { sagaId, created } = await startSagaOnce(
      { store: agent.store, bus: agent.bus, registry: appForTests.registry },
      {
        type: 'restock',
        input: {
          recommendationId,
          purchaseOrderId: recommendationId,
          sku: 'SKU-1',
          qty: 5,
          unitCost: 1,
          supplier: 'acme',
          leadTimeMs: 30 * 60_000,
        },
        idempotencyKey: recommendationId,
      },
    );
    expect(created).toBe(true);
    let doc = await agent.store.load(sagaId);
    await waitUntil(
      async () => {
        doc = await agent.store.load(sagaId);
        return doc?.status === 'completed';
      },
      () => `restock saga ${sagaId} to complete: ${doc?.status} in ${doc?.state}`,
      30_000,
      50,
    );
    // Its start event was published by the agent itself, not refused (and swept later by the orchestrator).
    expect(violations().slice(before)).toEqual([]);
    // A reactor not listed in reactorsStartingSagas may not publish a saga start.
    const err = await refusalOf(
      node('fraud-agent').bus.publish('evt.saga.started', envelope(), `forged-${ns}`),
    );
    expect(err).toBeInstanceOf(PermissionViolationError);
    expect((err as PermissionViolationError).subject).toBe(`${ns}.evt.saga.started`);
  });

  it('refuses a connection without credentials or with a wrong password, printing no secret', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/authorization/i);
    const p = byCommand.get('service payment')!;
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const err = await Bus.connect(configOf(p, { natsPassword: wrong }), loggerFor('x'), 'x').catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`NATS_USER=${p.user}`);
    expect((err as Error).message).not.toContain(wrong);
  });
});

const openssl = await findOnPath('openssl', process.env);

/** A CA and a server certificate for 127.0.0.1 it signed, made with openssl. */
async function certificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = (...args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(openssl!, args, { cwd: dir }, (err) => (err ? reject(err) : resolve())),
    );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/CN=jetsaga-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  await run('req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  return {
    ca: path.join(dir, 'ca.crt'),
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
  };
}

describe.skipIf(!openssl)('NATS over TLS, with an nkey', () => {
  let dir: string;
  let server: ManagedProcess;
  let ca: string;
  let seedFile: string;
  const user = nkeys.createUser();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-nats-tls-'));
    const files = await certificates(dir);
    ca = files.ca;
    seedFile = path.join(dir, 'user.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    const conf = path.join(dir, 'nats.conf');
    await writeFile(
      conf,
      [
        `tls { cert_file: ${JSON.stringify(files.cert)}, key_file: ${JSON.stringify(files.key)} }`,
        `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`,
        '',
      ].join('\n'),
    );
    server = natsServerProcess(await ensureNatsServer(), { configFile: conf });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const config = (over: Partial<Config>) =>
    defaultConfig({ natsUrl: `tls://127.0.0.1:${server.port}`, logLevel: 'silent', ...over });

  it('connects over TLS with NATS_TLS_CA and a tls:// URL, as the nkey of NATS_NKEY_SEED', async () => {
    const bus = await Bus.connect(config({ natsTlsCa: ca, natsNkeySeed: seedFile }), loggerFor('tls'), 'tls');
    try {
      expect(bus.nc.info?.tls_required).toBe(true);
      await bus.nc.flush();
    } finally {
      await bus.close();
    }
  });

  it('refuses a server whose certificate it cannot verify, and a missing seed file, naming the setting', async () => {
    // Bus.connect keeps trying a server it cannot reach (waitOnFirstConnect): one attempt shows why.
    const once = async (over: Partial<Config>) =>
      (
        await connect({
          servers: `tls://127.0.0.1:${server.port}`,
          reconnect: false,
          ...(await natsSecurityOptions(config(over))),
        })
      ).close();
    await expect(once({ natsNkeySeed: seedFile })).rejects.toThrow(/certificate/i);
    await expect(once({ natsTlsCa: ca, natsNkeySeed: seedFile })).resolves.toBeUndefined();
    await expect(
      Bus.connect(
        config({ natsTlsCa: ca, natsNkeySeed: path.join(dir, 'missing.nk') }),
        loggerFor('tls'),
        'tls',
      ),
    ).rejects.toThrow(/NATS_NKEY_SEED: cannot read .*missing\.nk \(ENOENT\)/);
    const token = `never-printed-${randomBytes(6).toString('hex')}`;
    const err = await Bus.connect(
      config({ natsTlsCa: ca, natsNkeySeed: seedFile, natsToken: token }),
      loggerFor('tls'),
      'tls',
    ).then(
      () => new Error('connected'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/give one way to authenticate, not NATS_TOKEN and NATS_NKEY_SEED/);
    expect(err.message).not.toContain(token);
  });
});
