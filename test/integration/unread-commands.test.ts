import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../runtime/config.ts';
import {
  type DeadLetter,
  DeadLetterSchema,
  provisionConsumer,
  UnroutedGuard,
} from '../../runtime/messaging/index.ts';
import { renderMetrics } from '../../runtime/observability/index.ts';
import { startTestNode, testEnvelope, type TestNode } from '../harness.ts';

/** A command no consumer reads (a service that does not exist) does not sit in the stream for ever. */
describe('commands no consumer reads', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({
      config: { unroutedGraceMs: 500, unroutedIntervalMs: 200 } as unknown as Partial<Config>,
    });
  });
  afterAll(async () => {
    await node?.destroy();
  });

  async function unroutedLetters(min: number): Promise<DeadLetter[]> {
    const jsm = await jetstreamManager(node.bus.nc);
    const until = Date.now() + 15_000;
    for (;;) {
      const out: DeadLetter[] = [];
      for (let seq = 1; ; seq++) {
        const m = await jsm.streams
          .getMessage(node.bus.topo.streams.dlq, {
            seq,
            next_by_subj: node.bus.topo.dlqSubject('unrouted'),
          } as never)
          .catch(() => null);
        if (!m) break;
        seq = m.seq;
        out.push(DeadLetterSchema.parse(m.json()));
      }
      if (out.length >= min) return out;
      if (Date.now() > until) throw new Error(`fewer than ${min} unrouted dead letters (${out.length})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('dead-letters a command for an unknown service, removes it from the stream, and counts it', async () => {
    const env = testEnvelope('nosuch.do', 'nosuch-1', 'saga-nosuch', {});
    const ack = await node.bus.publish('cmd.nosuch.do', env, 'nosuch-1');
    const started = Date.now();
    const [letter] = await unroutedLetters(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(letter).toMatchObject({
      consumer: 'unrouted',
      stream: node.bus.topo.streams.cmd,
      streamSeq: ack.seq,
      subject: 'cmd.nosuch.do',
      reason: 'unrouted',
      payload: JSON.stringify(env),
    });
    expect(letter!.error).toContain('cmd.nosuch.do');
    expect(letter!.error).toMatch(/no consumer/);
    const jsm = await jetstreamManager(node.bus.nc);
    expect(
      await jsm.streams.getMessage(node.bus.topo.streams.cmd, { seq: ack.seq }).catch(() => null),
    ).toBeNull();
    const { body } = await renderMetrics();
    expect(body).toMatch(
      new RegExp(
        `jetsaga_messages_unrouted_total\\{stream="${node.bus.topo.streams.cmd}",subject="cmd\\.nosuch\\.>"\\} 1`,
      ),
    );
    // A command a service reads is left alone (its stream keeps it until max_age).
    const known = await node.bus.publish(
      'cmd.inventory.release',
      testEnvelope('inventory.release', 'rel-1', 'saga-known', { orderId: 'o-1' }),
      'rel-1',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await jsm.streams.getMessage(node.bus.topo.streams.cmd, { seq: known.seq })).not.toBeNull();
    expect(await unroutedLetters(1)).toHaveLength(1);
  });
});

/** The guard's bounds: the grace period, a durable that reads the subject, newer messages. */
describe('commands no consumer reads: what the guard leaves alone', () => {
  let node: TestNode;
  beforeAll(async () => {
    // No orchestrator role: no guard of the node's own; each step runs one by hand.
    node = await startTestNode({ roles: [{ kind: 'service', name: 'inventory' }] });
  });
  afterAll(async () => {
    await node?.destroy();
  });

  const guard = (graceMs: number) => new UnroutedGuard(node.bus, { graceMs, log: node.log });

  it('waits out the grace period, spares a subject a durable reads, and removes nothing newer', async () => {
    const { topo } = node.bus;
    const jsm = await jetstreamManager(node.bus.nc);
    const cmd = topo.streams.cmd;
    const first = await node.bus.publish(
      'cmd.late.do',
      testEnvelope('late.do', 'late-1', 's-late', {}),
      'late-1',
    );
    expect(await guard(60_000).sweep()).toEqual([]);

    // A service that starts late: its durable exists now, so its commands are left to it.
    await provisionConsumer(node.bus, { stream: cmd, durable: 'svc-late', filter: topo.cmdFilter('late') });
    expect(await guard(0).sweep()).toEqual([]);
    // An ephemeral consumer reading everything is not a reader.
    await jsm.consumers.add(cmd, { filter_subject: topo.allCmd, inactive_threshold: 60_000_000_000 });
    await jsm.consumers.delete(cmd, 'svc-late');

    await new Promise((r) => setTimeout(r, 200));
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    const second = await node.bus.publish(
      'cmd.late.do',
      testEnvelope('late.do', 'late-2', 's-late', {}),
      'late-2',
    );
    expect(await guard(0).sweep(between)).toEqual([{ stream: cmd, subject: 'cmd.late.do', removed: 1 }]);
    expect(await jsm.streams.getMessage(cmd, { seq: first.seq })).toBeNull();
    expect(await jsm.streams.getMessage(cmd, { seq: second.seq })).not.toBeNull();
    // Commands a durable reads stay, whatever their age.
    const known = await node.bus.publish(
      'cmd.inventory.release',
      testEnvelope('inventory.release', 'rel-2', 's-known', { orderId: 'o-2' }),
      'rel-2',
    );
    expect(await guard(0).sweep()).toEqual([{ stream: cmd, subject: 'cmd.late.do', removed: 1 }]);
    expect(await jsm.streams.getMessage(cmd, { seq: known.seq })).not.toBeNull();
    const letters = [];
    for (let seq = 1; ; seq++) {
      const m = await jsm.streams.getMessage(topo.streams.dlq, { seq }).catch(() => null);
      if (!m) break;
      letters.push(DeadLetterSchema.parse(m.json()));
    }
    expect(letters.map((l) => [l.consumer, l.streamSeq])).toEqual([
      ['unrouted', first.seq],
      ['unrouted', second.seq],
    ]);
  });
});
