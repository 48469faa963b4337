import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';
import { storeMetrics } from '../observability/metrics.ts';

/**
 * MongoDB command durations (`jetsaga_store_command_duration_seconds{command,collection,outcome}`)
 * from the driver's command monitoring: the store's share of a slow saga.
 *
 * The client must be created with `monitorCommands: true` (SagaStore.connect does). Cost: with it
 * on, the driver (7.x, connection.js `sendCommand`) builds a `CommandStartedEvent` (a shallow copy
 * of the command) and a `CommandSucceededEvent` for every command *whether or not anyone listens*,
 * and the succeeded event carries the reply decoded with `toObject()`: for a `find` (the store's
 * `findOne`/`find` loads) that is a second full BSON decode of the reply, documents included, on top
 * of the cursor's own lazy decode. Which events one listens to does not change that; the listener
 * below adds one clock read, a Map set/delete and a histogram observe per command, and never
 * touches `reply`. So the price is the driver's and scales with the bytes the loads return.
 * Measured (Node 24, driver 7.9, client CPU per call, sequential): `findOne` of a 6.6 KB saga
 * document ~120 µs without monitoring, ~175 µs with it (+~55 µs, the reply's second decode);
 * `updateOne` ~66 µs either way; the listener itself is within the noise. A deployment that cannot
 * spare it sets JETSAGA_STORE_COMMAND_METRICS=off (no command metrics then). The
 * alternative (timing the store's methods) would lose the per-command split and the participants'
 * commands on the shared client.
 *
 * `event.duration` is whole milliseconds (floor of performance.now()), useless for sub-millisecond
 * commands: the listener times from `commandStarted` itself, matched to its end by `requestId`.
 */

/** Commands labelled by name; any other is `other`, to bound the label's values. */
const knownCommands = new Set([
  'insert',
  'update',
  'delete',
  'find',
  'findAndModify',
  'getMore',
  'aggregate',
  'count',
  'distinct',
  'killCursors',
  'createIndexes',
  'listIndexes',
  'listCollections',
  'drop',
  'dropDatabase',
  'bulkWrite',
]);

/** Collection names come from the app and the runtime (a few); past this many, `other`. */
const maxCollections = 64;
/** Commands started and never ended (a dropped event) are forgotten past this many in flight. */
const maxInFlight = 10_000;

type Outcome = 'ok' | 'error';

export interface CommandObserver {
  (labels: { command: string; collection: string; outcome: Outcome }, seconds: number): void;
}

/**
 * The listener's state and handlers, apart from any client: the unit test feeds it events.
 * `now` is in milliseconds (performance.now()).
 */
export class CommandMetrics {
  private readonly inFlight = new Map<number, { at: number; command: string; collection: string }>();
  private readonly collections = new Set<string>();

  constructor(
    private readonly observe: CommandObserver = (labels, seconds) =>
      storeMetrics.commandDuration.observe(labels, seconds),
    private readonly now: () => number = () => performance.now(),
  ) {}

  readonly started = (e: Pick<CommandStartedEvent, 'requestId' | 'commandName' | 'command'>): void => {
    const command = knownCommands.has(e.commandName) ? e.commandName : 'other';
    if (this.inFlight.size >= maxInFlight) this.inFlight.clear();
    this.inFlight.set(e.requestId, { at: this.now(), command, collection: this.collectionOf(e) });
  };

  readonly succeeded = (e: Pick<CommandSucceededEvent, 'requestId'>): void => this.end(e.requestId, 'ok');

  readonly failed = (e: Pick<CommandFailedEvent, 'requestId'>): void => this.end(e.requestId, 'error');

  /** Commands started and not yet ended (for tests). */
  get pending(): number {
    return this.inFlight.size;
  }

  private end(requestId: number, outcome: Outcome): void {
    const s = this.inFlight.get(requestId);
    // A command whose start was not seen (listener added mid-command), or a second reply of an
    // exhaust cursor: nothing to time.
    if (!s) return;
    this.inFlight.delete(requestId);
    this.observe(
      { command: s.command, collection: s.collection, outcome },
      Math.max(0, this.now() - s.at) / 1000,
    );
  }

  /** The collection: the command document's first value (`{find: 'sagas', ...}`), getMore's `collection`. */
  private collectionOf(e: Pick<CommandStartedEvent, 'commandName' | 'command'>): string {
    const doc = e.command as Record<string, unknown> | undefined;
    const value = e.commandName === 'getMore' ? doc?.collection : doc?.[e.commandName];
    if (typeof value !== 'string' || value === '') return '';
    if (this.collections.has(value)) return value;
    if (this.collections.size >= maxCollections) return 'other';
    this.collections.add(value);
    return value;
  }
}

const instrumented = new WeakSet<MongoClient>();

/**
 * Observes the commands of a client created with `monitorCommands: true`, once per client (a second
 * call is a no-op). Returns whether it added the listeners.
 */
export function instrumentMongoClient(client: MongoClient, metrics = new CommandMetrics()): boolean {
  if (instrumented.has(client)) return false;
  instrumented.add(client);
  client.on('commandStarted', metrics.started);
  client.on('commandSucceeded', metrics.succeeded);
  client.on('commandFailed', metrics.failed);
  return true;
}
