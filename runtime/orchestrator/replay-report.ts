import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { SagaDefinition, SagaRegistry } from './definition.ts';
import { type RecordedSaga, type ReplayResult, replaySaga } from './replay.ts';

/**
 * Replay of many recorded sagas against the definitions of a build, and the export format they
 * come in: what `GET /v1/sagas/{id}` returns, one saga per line (JSON lines, what `jetsaga replay
 * --save` writes) or as a JSON array. Only the fields replay reads are checked; the rest of a saga
 * (its status, links...) may be there or not.
 */

const isoOrDate = z.union([z.string(), z.date()]).nullable();

const RecordedTransitionSchema = z.object({
  rev: z.number().int().positive(),
  at: isoOrDate,
  event: z.object({
    id: z.string(),
    type: z.string(),
    data: z.unknown().optional(),
    causationId: z.string().nullable().optional(),
  }),
  from: z.string().nullable().optional(),
  to: z.string().nullable(),
  status: z.string(),
  commands: z.array(z.object({ msgId: z.string(), type: z.string(), data: z.unknown().optional() })),
  timers: z.object({
    set: z.array(z.object({ id: z.string(), dueAt: isoOrDate })),
    cancelled: z.array(z.string()),
  }),
});

export const RecordedSagaSchema = z.object({
  sagaId: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int().positive(),
  input: z.unknown(),
  correlationId: z.string().optional(),
  history: z.array(RecordedTransitionSchema),
});

/**
 * The sagas of an export: JSON lines of sagas, a JSON array of them, or one saga. Throws a
 * ValidationError naming the line (or array index) and the field at fault.
 */
export function parseRecordedSagas(text: string): RecordedSaga[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const items: Array<{ where: string; value: unknown }> = [];
  if (trimmed.startsWith('[')) {
    const all = parseJson(trimmed, 'the file');
    if (!Array.isArray(all)) throw new ValidationError('the file: expected an array of sagas', []);
    all.forEach((value, i) => items.push({ where: `saga ${i}`, value }));
  } else {
    text.split('\n').forEach((line, i) => {
      if (line.trim() !== '') items.push({ where: `line ${i + 1}`, value: parseJson(line, `line ${i + 1}`) });
    });
  }
  return items.map(({ where, value }) => {
    const parsed = RecordedSagaSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new ValidationError(`${where}: ${field || 'saga'}: ${issue.message}`, [
      { field, message: issue.message },
    ]);
  });
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(`${where}: not JSON (${(err as Error).message})`, []);
  }
}

export interface ReplayOptions {
  /**
   * Which definition replays a saga: the version it ran on (`recorded`, the default: what running
   * instances of it do after a deploy), or the newest of its type (`latest`: would a new version
   * have done the same?).
   */
  version?: 'recorded' | 'latest';
}

export interface ReplayReport {
  /** One per saga, in the order given. */
  results: ReplayResult[];
  reproduced: number;
  diverged: ReplayResult[];
}

/** Replays each saga through its definition in `registry` (see ReplayOptions) and tallies. */
export function replayRecorded(
  registry: SagaRegistry,
  sagas: readonly RecordedSaga[],
  opts: ReplayOptions = {},
): ReplayReport {
  const results = sagas.map((saga) => {
    let def: SagaDefinition;
    try {
      def = opts.version === 'latest' ? registry.latest(saga.type) : registry.get(saga.type, saga.version);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      return {
        sagaId: saga.sagaId,
        type: saga.type,
        version: saga.version,
        revisions: saga.history.length,
        steps: [],
        divergence: {
          rev: 0,
          aspect: 'definition' as const,
          expected: `${saga.type} v${saga.version}`,
          actual: null,
          message: err.message,
        },
      };
    }
    return replaySaga(def, saga);
  });
  const diverged = results.filter((r) => r.divergence);
  return { results, reproduced: results.length - diverged.length, diverged };
}

/** `replay: 12 sagas, 11 reproduced, 1 diverged`. */
export function replaySummary(report: ReplayReport): string {
  const n = report.results.length;
  return `replay: ${n} saga${n === 1 ? '' : 's'}, ${report.reproduced} reproduced, ${report.diverged.length} diverged`;
}

/** `replay: <sagaId> (order-fulfillment v1) parts at rev 4 (to): rev 4 (payment.declined): to: recorded …`. */
export function divergenceLine(r: ReplayResult): string {
  const d = r.divergence;
  if (!d) return `replay: ${r.sagaId} (${r.type} v${r.version}) reproduced`;
  return `replay: ${r.sagaId} (${r.type} v${r.version}) parts at rev ${d.rev} (${d.aspect}): ${d.message}`;
}
