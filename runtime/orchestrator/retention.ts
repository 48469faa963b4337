import type { Config } from '../config.ts';
import { type JetsagaError, NotFoundError, PurgedError, TransientError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { PurgeLoop, type SagaStore, type SagaTombstone } from '../store/index.ts';
import type { Envelope } from '../wire/index.ts';

/**
 * The orchestrator's part of retention (JETSAGA_RETENTION_MS): it purges ended sagas, their
 * history and, as long again, their tombstones; off when the setting is 0 (kept for ever).
 */
export function sagaPurge(store: SagaStore, config: Config, log: Logger): PurgeLoop | undefined {
  const { retentionMs, purgeBatch, purgeIntervalMs } = config;
  if (retentionMs === 0) return undefined;
  return new PurgeLoop(
    'sagas',
    async (now) => {
      const before = new Date(now.getTime() - retentionMs);
      const r = await store.purgeEnded({
        now,
        endedBefore: before,
        tombstonesBefore: before,
        limit: purgeBatch,
      });
      return {
        deleted: { sagas: r.sagas, saga_history: r.history, saga_tombstones: r.tombstones },
        full: r.full,
      };
    },
    purgeIntervalMs,
    log,
  );
}

/**
 * Why a message's saga is not in the store. Purged (its tombstone says when), or the message
 * occurred longer ago than the retention period, so its saga would have been purged by now: a
 * PurgedError, dead-lettered with reason `purged` at once. Otherwise it may not be created yet
 * (a start still on its way): a TransientError, retried.
 */
export async function whyMissing(
  store: SagaStore,
  config: Pick<Config, 'retentionMs'>,
  id: string,
  env?: Envelope,
): Promise<JetsagaError> {
  const what = env ? env.type : 'the message';
  const tombstone = await store.tombstoneOf(id);
  if (tombstone)
    return new PurgedError(
      `saga ${id} (${tombstone.type}) ${purgedWhen(tombstone)}: nothing is left for ${what} to act on`,
    );
  const { retentionMs } = config;
  if (env && retentionMs > 0 && Date.parse(env.occurredAt) < Date.now() - retentionMs)
    return new PurgedError(
      `saga ${id} is not in the store and ${what} occurred at ${env.occurredAt}, longer ago than the retention period (JETSAGA_RETENTION_MS ${retentionMs} ms): its saga ended and was purged`,
    );
  return new SagaNotStoredYet(id);
}

/**
 * The saga of a message is not in the store and left no tombstone. Every path that starts a saga
 * stores it before it publishes anything for it, so a start on its way shows up within a retry or
 * two; the orchestrator retries this up to JETSAGA_UNKNOWN_SAGA_ATTEMPTS deliveries, then
 * dead-letters the message as not-found (`notStoredAfter`).
 */
export class SagaNotStoredYet extends TransientError {
  constructor(readonly sagaId: string) {
    super(`saga ${sagaId} does not exist (yet)`);
    this.name = 'SagaNotStoredYet';
  }
}

/** What a message whose saga never appeared is dead-lettered with, after `attempts` deliveries. */
export function notStoredAfter(err: SagaNotStoredYet, type: string, attempts: number): NotFoundError {
  return new NotFoundError(
    `saga ${err.sagaId} does not exist: not in the store after ${attempts} deliveries of ${type}, and not purged (no tombstone). A saga is stored before anything is published for it, so this message was never one of its own (forged, or sent to the wrong namespace) or its store lost it; replay the dead letter once the saga exists`,
  );
}

/** When a purged saga ended and went, as the errors about it say it. */
export function purgedWhen(tombstone: Pick<SagaTombstone, 'endedAt' | 'purgedAt'>): string {
  return `ended ${tombstone.endedAt?.toISOString() ?? 'at an unknown time'} and was purged at ${tombstone.purgedAt.toISOString()} after its retention period (JETSAGA_RETENTION_MS)`;
}
