import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ensureNatsServer,
  type Infra,
  type ManagedProcess,
  natsServerProcess,
} from '../../runtime/dev/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, waitUntil } from '../harness.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';
import { fillDisk, mountTmpfs, unmount } from '../tmpfs.ts';

const mounted = mountTmpfs(48, 'jetsaga-full-disk-');
if (typeof mounted !== 'string') console.warn(`full-disk test skipped: ${mounted.skip}`);

/**
 * JetStream's store on a 48 MB filesystem that fills up during the run (another process's file
 * takes every byte): publishes fail with a storage error, the runtime keeps what it could not publish
 * (a saga's start in its outbox, a step's commands in theirs, unacked deliveries) and retries, and
 * once space is freed work resumes. nats-server (2.15) takes a stream whose write failed for lack of
 * space ("critical write error") out of service: a new stream stores again as soon as space is back,
 * but the saga streams only after a restart of the node, which this test does (without it, sagas stay
 * where they were). Nothing is lost or doubled.
 */
describe.skipIf(typeof mounted !== 'string')('a full disk under JetStream', () => {
  const dir = mounted as string;
  const filler = path.join(dir, 'filler');
  let nats: ManagedProcess;
  let cluster: ProcessCluster;
  const ids: string[] = [];
  let n = 0;

  beforeAll(async () => {
    // The limit JetStream believes in is larger than the disk: the disk, not the limit, runs out.
    const conf = path.join(dir, 'nats.conf');
    writeFileSync(conf, `jetstream { max_file_store: 1G, max_memory_store: 64M }\n`);
    nats = natsServerProcess(await ensureNatsServer({ log: () => undefined }), {
      dataDir: dir,
      configFile: conf,
    });
    await nats.start();
    const infra: Infra = {
      mode: 'env',
      natsUrl: nats.url,
      mongoUrl: inject('mongoUrl'),
      mongoKind: 'external',
      describe: () => `nats on ${dir}`,
      stop: async () => undefined,
    };
    cluster = new ProcessCluster(infra);
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await nats?.stop();
    unmount(dir);
  });

  const orders = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => {
        const i = n++;
        return cluster.order(
          order({
            orderId: `fd-${i}`,
            customerId: `fd-cust-${i}`,
            items: [{ sku: `SKU-${(i % 5) + 1}`, qty: 1, unitPrice: 3 }],
          }),
        );
      }),
    ).then((started) => {
      ids.push(...started);
      return started;
    });

  /** Whether a publish of a few KB to the saga event stream's namespace is stored (acked). */
  async function publishAcked(): Promise<boolean> {
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: 0 }).catch(() => null);
    if (!nc) return false;
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'DISK_PROBE', subjects: ['disk-probe.>'] }).catch(() => undefined);
      await jetstream(nc, { timeout: 2_000 }).publish('disk-probe.x', 'x'.repeat(4096));
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }

  it('publishes fail while the disk is full, nothing is lost, and work resumes once space is freed', async () => {
    await orders(4);
    await cluster.waitTerminal(ids);
    fillDisk(filler);
    try {
      await waitUntil(async () => !(await publishAcked()), 'a publish to fail on the full disk');
      // Accepted meanwhile: stored with their start events in their outboxes.
      await orders(4);
    } finally {
      rmSync(filler, { force: true });
    }
    // The saga streams failed a write: nats-server serves them again once restarted.
    await nats.restart();
    await waitUntil(() => publishAcked(), 'the server to store publishes again', 60_000);
    await orders(4);
    await cluster.waitTerminal(ids, 120_000);
    const report = await checkOrderInvariants(cluster.db, { initialStock: seededStock });
    expect(report.violations).toEqual([]);
    expect(report.duplicateEffects).toBe(0);
    expect(report.terminal).toBe(ids.length);
    const history = await checkSagaHistory(cluster.db);
    expect(history.violations).toEqual([]);
    expect(history.gaps).toBe(0);
  }, 240_000);
});
