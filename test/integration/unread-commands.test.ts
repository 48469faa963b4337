import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../runtime/config.ts';
import {
  type DeadLetter,
  DeadLetterSchema,
  provisionConsumer,
  UnroutedGuard,
} from '../../runtime/messaging/index.ts';
import { renderMetrics } from '../../runtime/observability/index.ts';
import { testEnvelope, useTestNode, waitUntil } from '../harness.ts';

/** A command no consumer reads (a service that does not exist) does not sit in the stream for ever. */
describe('commands no consumer reads', () => {
  const node = useTestNode({
    config: { unroutedGraceMs: 500, unroutedIntervalMs: 200 } as unknown as Partial<Config>,
  });

  async function unroutedLetters(min: number): Promise<DeadLetter[]> {
    const { bus } = node();
    const jsm = await jetstreamManager(bus.nc);
    let out: DeadLetter[] = [];
    await waitUntil(
      async () => {
        out = [];
        for (let seq = 1; ; seq++) {
          const m = await jsm.streams
            .getMessage(bus.topo.streams.dlq, {
              seq,
              next_by_subj: bus.topo.dlqSubject('unrouted'),
            } as never)
            .catch(() => null);
          if (!m) break;
          seq = m.seq;
          out.push(DeadLetterSchema.parse(m.json()));
        }
        return out.length >= min;
      },
      `at least ${min} unrouted dead letters`,
      15_000,
      100,
    );
    return out;
  }

  /**
   * Returns once the node's own guard has made a whole sweep that started after this call. A command
   * for nobody published now is dead-lettered by a sweep that starts at least the grace period later;
   * one published once that letter is there, by a sweep that starts after it: the first one is over.
   */
  async function aWholeSweepLater(): Promise<void> {
    for (const n of [1, 2]) {
      const before = (await unroutedLetters(0)).length;
      await node().bus.publish(
        'cmd.nobody.mark',
        testEnvelope('nobody.mark', `mark-${n}`, 's-mark', {}),
        `mark-${n}`,
      );
      await unroutedLetters(before + 1);
    }
  }

  it('dead-letters a command for an unknown service, removes it from the stream, and counts it', async () => {
    const { bus } = node();
    const env = testEnvelope('nosuch.do', 'nosuch-1', 'saga-nosuch', {});
    const ack = await bus.publish('cmd.nosuch.do', env, 'nosuch-1');
    // That the guard waits out the grace period first is the next block's test (a grace of a minute).
    const [letter] = await unroutedLetters(1);
    expect(letter).toMatchObject({
      consumer: 'unrouted',
      stream: bus.topo.streams.cmd,
      streamSeq: ack.seq,
      subject: 'cmd.nosuch.do',
      reason: 'unrouted',
      payload: JSON.stringify(env),
    });
    expect(letter!.error).toContain('cmd.nosuch.do');
    expect(letter!.error).toMatch(/no consumer/);
    const jsm = await jetstreamManager(bus.nc);
    expect(await jsm.streams.getMessage(bus.topo.streams.cmd, { seq: ack.seq }).catch(() => null)).toBeNull();
    const { body } = await renderMetrics();
    expect(body).toMatch(
      new RegExp(
        `jetsaga_messages_unrouted_total\\{stream="${bus.topo.streams.cmd}",subject="cmd\\.nosuch\\.>"\\} 1`,
      ),
    );
    // A command a service reads is left alone (its stream keeps it until max_age).
    const known = await bus.publish(
      'cmd.inventory.release',
      testEnvelope('inventory.release', 'rel-1', 'saga-known', { orderId: 'o-1' }),
      'rel-1',
    );
    await aWholeSweepLater();
    expect(await jsm.streams.getMessage(bus.topo.streams.cmd, { seq: known.seq })).not.toBeNull();
    expect((await unroutedLetters(0)).map((l) => l.subject)).toEqual([
      'cmd.nosuch.do',
      'cmd.nobody.mark',
      'cmd.nobody.mark',
    ]);
  });
});

/** The guard's bounds: the grace period, a durable that reads the subject, newer messages. */
describe('commands no consumer reads: what the guard leaves alone', () => {
  // No orchestrator role: no guard of the node's own; each step runs one by hand.
  const node = useTestNode({ roles: [{ kind: 'service', name: 'inventory' }] });

  const guard = (graceMs: number) => new UnroutedGuard(node().bus, { graceMs, log: node().log });

  it('waits out the grace period, spares a subject a durable reads, and removes nothing newer', async () => {
    const { bus } = node();
    const { topo } = bus;
    const jsm = await jetstreamManager(bus.nc);
    const cmd = topo.streams.cmd;
    const first = await bus.publish('cmd.late.do', testEnvelope('late.do', 'late-1', 's-late', {}), 'late-1');
    expect(await guard(60_000).sweep()).toEqual([]);

    // A service that starts late: its durable exists now, so its commands are left to it.
    await provisionConsumer(bus, { stream: cmd, durable: 'svc-late', filter: topo.cmdFilter('late') });
    expect(await guard(0).sweep()).toEqual([]);
    // An ephemeral consumer reading everything is not a reader.
    await jsm.consumers.add(cmd, { filter_subject: topo.allCmd, inactive_threshold: 60_000_000_000 });
    await jsm.consumers.delete(cmd, 'svc-late');

    // A cutoff between the two commands: the first one's own time, the second published once it is past.
    const between = (await jsm.streams.getMessage(cmd, { seq: first.seq }))!.time.getTime();
    await waitUntil(() => Date.now() > between + 1, 'the clock to move past the first command');
    const second = await bus.publish(
      'cmd.late.do',
      testEnvelope('late.do', 'late-2', 's-late', {}),
      'late-2',
    );
    expect(await guard(0).sweep(between)).toEqual([{ stream: cmd, subject: 'cmd.late.do', removed: 1 }]);
    expect(await jsm.streams.getMessage(cmd, { seq: first.seq })).toBeNull();
    expect(await jsm.streams.getMessage(cmd, { seq: second.seq })).not.toBeNull();
    // Commands a durable reads stay, whatever their age.
    const known = await bus.publish(
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

  it('takes one listing without a reader for a gap, not a proof: a subject is unrouted once the sweeps found it so for the grace period', async () => {
    const { bus } = node();
    const jsm = await jetstreamManager(bus.nc);
    const cmd = bus.topo.streams.cmd;
    const gone = await bus.publish('cmd.gone.do', testEnvelope('gone.do', 'gone-1', 's-gone', {}), 'gone-1');
    const at = (await jsm.streams.getMessage(cmd, { seq: gone.seq }))!.time.getTime();
    const graceMs = 60_000;
    const g = new UnroutedGuard(bus, { graceMs, log: node().log, streams: [cmd] });
    // Swept as if the message were long past the grace: the first sweep that finds no reader waits.
    const t0 = at + 2 * graceMs;
    expect(await g.sweep(t0)).toEqual([]);
    // A reader seen in between (a durable the list had left out) starts the wait again.
    await provisionConsumer(bus, { stream: cmd, durable: 'svc-gone', filter: bus.topo.cmdFilter('gone') });
    expect(await g.sweep(t0 + graceMs / 2)).toEqual([]);
    await jsm.consumers.delete(cmd, 'svc-gone');
    expect(await g.sweep(t0 + graceMs)).toEqual([]);
    expect(await jsm.streams.getMessage(cmd, { seq: gone.seq })).not.toBeNull();
    // Found without a reader for the whole grace period since: dead-lettered and removed.
    expect(await g.sweep(t0 + 2 * graceMs)).toEqual([{ stream: cmd, subject: 'cmd.gone.do', removed: 1 }]);
    expect(await jsm.streams.getMessage(cmd, { seq: gone.seq }).catch(() => null)).toBeNull();
  });
});
