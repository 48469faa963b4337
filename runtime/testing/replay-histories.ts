import { type SagaDefinition, SagaRegistry } from '../orchestrator/definition.ts';
import {
  parseRecordedSagas,
  replayRecorded,
  type ReplayOptions,
  type ReplayReport,
} from '../orchestrator/replay-report.ts';
import type { RecordedSaga } from '../orchestrator/replay.ts';

/**
 * The check `jetsaga replay` makes, for a CI: replays exported histories of sagas (the text of an
 * export, JSON lines or an array of what `GET /v1/sagas/{id}` returns, or the sagas themselves)
 * through `definitions` (the change about to ship) and reports each saga whose recorded
 * transitions they would not reproduce, with the first revision where they part:
 *
 * ```ts
 * const report = replayHistories(app.sagas, await readFile('prod-orders.jsonl', 'utf8'));
 * expect(report.diverged.map(divergenceLine)).toEqual([]);
 * ```
 */
export function replayHistories(
  definitions: readonly SagaDefinition[] | SagaRegistry,
  exported: string | readonly RecordedSaga[],
  opts: ReplayOptions = {},
): ReplayReport {
  const registry =
    definitions instanceof SagaRegistry ? definitions : new SagaRegistry().register(...definitions);
  const sagas = typeof exported === 'string' ? parseRecordedSagas(exported) : exported;
  return replayRecorded(registry, sagas, opts);
}
