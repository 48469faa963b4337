// What a bench role process reports over its IPC channel (bench/role-main.ts), and how it counts its
// MongoDB operations: from its driver's own command monitoring (`commandStarted` events, on when the
// connection string says `monitorCommands=true`), not from wrappers around the driver's API.
import type { CommandStartedEvent, Document, MongoClient } from 'mongodb';
import type { RoleProcess } from '../runtime/dev/index.ts';

/** MongoDB operations this process sent, by call, and the write statements among them. */
export interface MongoCounts {
  /** Calls by name (insertOne, updateOne, findOne, find, bulkWrite, ...): one round trip each. */
  commands: Record<string, number>;
  /** The same calls by `<collection>.<name>`: which calls a step waits for is told by these (bench.ts). */
  calls: Record<string, number>;
  /** Write statements: inserted documents, updates, deletes, findAndModify; a bulk write's each. */
  writes: number;
}

export interface RoleStats {
  /** Null when the process's client does not monitor its commands (`monitorCommands` off). */
  mongo: MongoCounts | null;
  actorsLive: number | null;
  passivations: number | null;
  timersFired: number | null;
  /** Messages handled by this process's durable consumers (the extra roles' are not visible here). */
  processed: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** V8 heap reserved (what RSS keeps after a burst even when little of it is live). */
  heapTotalBytes: number;
  /** Memory outside the V8 heap: Buffers (socket reads, BSON), ArrayBuffers. */
  externalBytes: number;
}

/** `gc`: run a full garbage collection first (needs `--expose-gc`), so that heapUsed is what is live. */
export type StatsRequest = { type: 'stats'; id: number; gc?: boolean };
export type StatsReply = { type: 'stats'; id: number; stats: RoleStats };

/** Asks a bench role (bench/role-main.ts) for its counters; null if it does not answer in time. */
export async function roleStats(
  role: RoleProcess,
  opts: { gc?: boolean } = {},
  timeoutMs = 10_000,
): Promise<RoleStats | null> {
  const reply = await role.request<StatsReply>({ type: 'stats', gc: opts.gc }, timeoutMs);
  return reply?.stats ?? null;
}

/** The connection string with the driver's command monitoring on, for the roles whose calls are counted. */
export function withCommandMonitoring(mongoUrl: string): string {
  if (/[?&]monitorCommands=/i.test(mongoUrl)) return mongoUrl;
  if (mongoUrl.includes('?')) return `${mongoUrl}&monitorCommands=true`;
  // Options follow the hosts' `/` (and the database name, if any).
  const hostsEnd = mongoUrl.indexOf('/', mongoUrl.indexOf('://') + 3);
  return `${mongoUrl}${hostsEnd === -1 ? '/' : ''}?monitorCommands=true`;
}

/** The documents of a command's list (`documents`, `updates`, `deletes`): a bulk write's statements. */
const statements = (command: Document, field: string): number =>
  Array.isArray(command[field]) ? (command[field] as unknown[]).length : 1;

/**
 * A command as the collection call that sent it, and its write statements; null for what is not a
 * collection's read or write (handshakes, index builds, sessions). The product sends every bulk call
 * unordered (`insertMany` and `bulkWrite` with `ordered: false`), so an unordered command or one of
 * several statements is the bulk call, an ordered one of a single statement the one-document call:
 * the names the driver's API gives them, the same whichever layout runs the roles. `aggregate`,
 * `count`, `distinct` and `getMore` keep their command's name (a cursor's next batch is a round trip
 * of its own; the local store answers a find in one batch).
 */
export function collectionCall(
  command: Document,
): { collection: string; call: string; writes: number } | null {
  const name = Object.keys(command)[0];
  const target = name === undefined ? undefined : command[name];
  const collection = name === 'getMore' ? command.collection : target;
  if (typeof collection !== 'string') return null;
  const bulk = (field: string) => command.ordered === false || statements(command, field) > 1;
  switch (name) {
    case 'insert':
      return {
        collection,
        call: bulk('documents') ? 'insertMany' : 'insertOne',
        writes: statements(command, 'documents'),
      };
    case 'update': {
      const one = (command.updates as Document[] | undefined)?.[0];
      const replace =
        one !== undefined &&
        !Array.isArray(one.u) &&
        !Object.keys(one.u ?? {}).some((k) => k.startsWith('$'));
      const call = bulk('updates')
        ? 'bulkWrite'
        : one?.multi
          ? 'updateMany'
          : replace
            ? 'replaceOne'
            : 'updateOne';
      return { collection, call, writes: statements(command, 'updates') };
    }
    case 'delete': {
      const call = bulk('deletes')
        ? 'bulkWrite'
        : (command.deletes as Document[] | undefined)?.[0]?.limit === 0
          ? 'deleteMany'
          : 'deleteOne';
      return { collection, call, writes: statements(command, 'deletes') };
    }
    case 'findAndModify': {
      const call = command.remove
        ? 'findOneAndDelete'
        : Object.keys(command.update ?? {}).some((k) => k.startsWith('$')) || Array.isArray(command.update)
          ? 'findOneAndUpdate'
          : 'findOneAndReplace';
      return { collection, call, writes: 1 };
    }
    case 'find':
      return {
        collection,
        call: command.limit === 1 && command.singleBatch === true ? 'findOne' : 'find',
        writes: 0,
      };
    case 'aggregate':
    case 'count':
    case 'distinct':
    case 'getMore':
      return { collection, call: name, writes: 0 };
    default:
      return null;
  }
}

/**
 * Counts every collection call `client` sends from now on (its `commandStarted` events: only when
 * its connection string has `monitorCommands=true`). Returns a reader of the counts so far; null
 * when the client does not monitor its commands.
 */
export function countCollectionCalls(client: MongoClient): (() => MongoCounts) | null {
  if (!client.options.monitorCommands) return null;
  const counts: MongoCounts = { commands: {}, calls: {}, writes: 0 };
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const c = collectionCall(event.command);
    if (!c) return;
    counts.commands[c.call] = (counts.commands[c.call] ?? 0) + 1;
    const key = `${c.collection}.${c.call}`;
    counts.calls[key] = (counts.calls[key] ?? 0) + 1;
    counts.writes += c.writes;
  });
  return () => ({ commands: { ...counts.commands }, calls: { ...counts.calls }, writes: counts.writes });
}
