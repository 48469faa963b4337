import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  MongoServerError,
  ObjectId,
  Timestamp,
  UUID,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerEngineAvailable, type Infra, resolveInfra } from './index.ts';

const dockerAvailable = await dockerEngineAvailable();

// Normally built by `npm run infra:install` (pretest); a fresh build inside the hook takes minutes.
const PROVISION_TIMEOUT_MS = 300_000;

/** The caller's environment minus the URLs, so the resolver has to provision both servers. */
function envWithoutUrls(): NodeJS.ProcessEnv {
  const { NATS_URL: _nats, MONGO_URL: _mongo, ...rest } = process.env;
  return rest;
}

async function withMongo<T>(url: string, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function jetStreamEnabled(servers: string): Promise<boolean> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    return info.limits !== undefined;
  } finally {
    await nc.close();
  }
}

describe('resolveInfra, local processes', () => {
  let infra: Infra;
  const logs: string[] = [];

  beforeAll(async () => {
    infra = await resolveInfra({ env: envWithoutUrls(), preferLocal: true, log: (line) => logs.push(line) });
  }, PROVISION_TIMEOUT_MS);

  afterAll(async () => {
    await infra?.stop();
  });

  it('starts nats-server with JetStream and a MongoDB-wire server on loopback', async () => {
    expect(infra.mode).toBe('local');
    expect(infra.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(infra.mongoUrl).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
    expect(['mongod', 'mongo-java-server']).toContain(infra.mongoKind);
    expect(infra.nats?.running).toBe(true);
    expect(infra.mongo?.running).toBe(true);
    expect(infra.describe()).toMatch(
      /^local: nats-server v\d+\.\d+\.\d+ on 127\.0\.0\.1:\d+, (mongo-java-server \d+\.\d+\.\d+ \(h2\)|mongod .+) on 127\.0\.0\.1:\d+$/,
    );

    expect(await jetStreamEnabled(infra.natsUrl)).toBe(true);
  });

  it('stores documents, enforces unique indexes, and keeps data across a mongo restart', async () => {
    await withMongo(infra.mongoUrl, async (client) => {
      const orders = client.db('jetsaga_infra_test').collection<{ _id: string; sku: string }>('orders');
      await orders.insertOne({ _id: 'o-1', sku: 'sku-1' });
      expect(await orders.findOne({ _id: 'o-1' })).toEqual({ _id: 'o-1', sku: 'sku-1' });

      await orders.createIndex({ sku: 1 }, { unique: true });
      const duplicate = await orders.insertOne({ _id: 'o-2', sku: 'sku-1' }).catch((err: unknown) => err);
      expect(duplicate).toBeInstanceOf(MongoServerError);
      expect((duplicate as MongoServerError).code).toBe(11000);
    });

    const mongo = infra.mongo!;
    const { port, pid } = mongo;
    await mongo.restart();
    expect(mongo.port).toBe(port);
    expect(mongo.pid).not.toBe(pid);

    await withMongo(infra.mongoUrl, async (client) => {
      const orders = client.db('jetsaga_infra_test').collection<{ _id: string; sku: string }>('orders');
      expect(await orders.findOne({ _id: 'o-1' })).toEqual({ _id: 'o-1', sku: 'sku-1' });
    });
  });

  // The runtime's optimistic concurrency (saga store revisions, inventory holds) assumes that a filtered
  // updateOne is atomic: filter and update see one document version. FerretDB v1 broke this (lost
  // updates, several OCC winners), so whatever server the resolver picks has to pass this.
  it('the MongoDB-wire server applies conditional updates atomically', async () => {
    await withMongo(infra.mongoUrl, async (client) => {
      const db = client.db('jetsaga_infra_test');

      const stock = db.collection<{ _id: string; available: number; holds: Record<string, number> }>('stock');
      await stock.insertOne({ _id: 'sku-atomic', available: 100_000, holds: {} });
      const holds = 300;
      const results = await Promise.all(
        Array.from({ length: holds }, (_, i) =>
          stock.updateOne(
            { _id: 'sku-atomic', available: { $gte: 1 }, [`holds.o${i}`]: { $exists: false } },
            { $inc: { available: -1 }, $set: { [`holds.o${i}`]: 1 } },
          ),
        ),
      );
      expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(holds);
      const after = await stock.findOne({ _id: 'sku-atomic' });
      expect(Object.keys(after?.holds ?? {})).toHaveLength(holds);
      expect(after?.available).toBe(100_000 - holds);

      const sagas = db.collection<{ _id: string; rev: number }>('sagas');
      await sagas.insertOne({ _id: 'saga-occ', rev: 0 });
      const attempts = await Promise.all(
        Array.from({ length: 50 }, () => sagas.updateOne({ _id: 'saga-occ', rev: 0 }, { $set: { rev: 1 } })),
      );
      expect(attempts.filter((r) => r.matchedCount === 1)).toHaveLength(1);
      expect(await sagas.findOne({ _id: 'saga-occ' })).toEqual({ _id: 'saga-occ', rev: 1 });
    });
  });

  // The runtime's hot queries (`{_id, rev}`, due timers, stale outboxes, customer velocity) rely on
  // indexes; the local server answers them from indexes of its own (runtime/dev/mongo-java-server).
  // An index may only narrow the candidates: every answer must be what a full scan gives, also
  // after updates, deletes and a restart (the secondary indexes are rebuilt from the documents).
  it('answers indexed queries exactly as a scan does, before and after a restart', async () => {
    type Row = {
      _id: string;
      rev: number;
      due?: Date | null;
      cust: string | number;
      tags: unknown[];
      owner: string;
      n: number;
    };
    const base = Date.UTC(2026, 0, 1);
    const at = (i: number) => new Date(base + (i % 97) * 1000);
    const queries: Array<Record<string, unknown>> = [
      { due: { $lte: at(40) } },
      { due: { $gt: at(10), $lte: at(60) } },
      { due: { $gte: at(90) }, rev: 1 },
      { cust: 'c7' },
      { cust: { $in: ['c3', 'c5', 12] } },
      { cust: 12 },
      { cust: { $eq: 'c1' }, tags: 'x' },
      { tags: 3 },
      { tags: { $gte: 5 } },
      { _id: 'r-42', rev: 0 },
      { _id: { $in: ['r-1', 'r-2', 'r-3'] }, rev: 1 },
      // A compound unique index: all its keys, and its first key alone (as mongod serves a prefix).
      { owner: 'o3', n: 43 },
      { owner: 'o7' },
      { owner: { $in: ['o1', 'o2'] }, rev: 1 },
    ];
    const compare = async (client: MongoClient) => {
      const rows = client.db('jetsaga_infra_test').collection<Row>('indexed');
      for (const q of queries) {
        const indexed = await rows.find(q).sort({ _id: 1 }).toArray();
        const scanned = await rows
          .find({ $or: [q] })
          .sort({ _id: 1 })
          .toArray();
        expect(
          indexed.map((r) => r._id),
          JSON.stringify(q),
        ).toEqual(scanned.map((r) => r._id));
      }
      return rows;
    };
    await withMongo(infra.mongoUrl, async (client) => {
      const rows = client.db('jetsaga_infra_test').collection<Row>('indexed');
      await rows.createIndex({ due: 1 });
      await rows.createIndex({ cust: 1, rev: 1 });
      await rows.createIndex({ tags: 1 }, { sparse: true });
      await rows.createIndex({ owner: 1, n: 1 }, { unique: true });
      await rows.insertMany(
        Array.from({ length: 600 }, (_, i) => ({
          _id: `r-${i}`,
          rev: i % 2,
          ...(i % 5 === 0 ? {} : { due: i % 7 === 0 ? null : at(i) }),
          cust: i % 11 === 0 ? 12 : `c${i % 9}`,
          tags: i % 3 === 0 ? [i % 8, 'x'] : [`t${i % 4}`],
          owner: `o${i % 40}`,
          n: i,
        })),
      );
      await compare(client);
      // Moves in and out of every index: conditional updates, unsets, deletes.
      for (let i = 0; i < 600; i += 7) {
        await rows.updateOne(
          { _id: `r-${i}`, rev: i % 2 },
          { $set: { rev: 2, cust: `c${i % 4}`, tags: [i % 6], owner: `o${i % 3}` }, $unset: { due: '' } },
        );
      }
      await expect(
        rows.insertOne({ _id: 'dup', rev: 0, cust: 'c0', tags: [], owner: 'o1', n: 1 }),
      ).rejects.toThrow(/duplicate key/i);
      await rows.updateMany({ cust: 'c2' }, { $set: { due: at(5) } });
      await rows.deleteMany({ tags: { $lte: 1 } });
      expect(await rows.countDocuments({ _id: 'r-14', rev: 2 })).toBe(1);
      await compare(client);
      // Dropped and built again over the documents there are.
      await rows.dropIndex('due_1');
      await rows.dropIndex('_id_').catch(() => undefined); // refused, as by mongod
      await rows.createIndex({ due: 1 });
      await compare(client);
    });
    await infra.mongo!.restart();
    await withMongo(infra.mongoUrl, async (client) => {
      const rows = await compare(client);
      expect(await rows.countDocuments({ due: { $lte: at(96) } })).toBeGreaterThan(100);
    });
  });

  // The local server stores documents as BSON in its data file (BsonDocumentType): every BSON type it
  // accepts must come back from disk exactly as inserted, also after update operators rewrote it.
  it('keeps every BSON type exactly across a mongo restart', async () => {
    const typed = {
      _id: new ObjectId(),
      strings: ['', 'plain', 'ünïcödé 🎉', 'nul\u0000inside'],
      int32: [new Int32(0), new Int32(-2147483648), new Int32(2147483647)],
      int64: [
        Long.fromString('9223372036854775807'),
        Long.fromString('-9223372036854775808'),
        Long.fromInt(0),
      ],
      doubles: [
        new Double(1.5),
        new Double(-0),
        new Double(Number.NaN),
        new Double(-Infinity),
        new Double(5e-324),
      ],
      decimals: ['1234.5678', '-0', 'NaN', '9.999999999999999999999999999999999E+6144'].map((d) =>
        Decimal128.fromString(d),
      ),
      booleans: [true, false],
      nothing: null,
      dates: [new Date(0), new Date(Date.UTC(2026, 0, 1, 12, 30, 45, 678)), new Date(-62135596800000)],
      ids: [new ObjectId(), new ObjectId('000000000000000000000000')],
      // Subtypes 0, 3 and 4: the library turns every other subtype into 0 (or refuses it) on the wire.
      binaries: [new Binary(Buffer.from([0, 1, 255])), new Binary(Buffer.alloc(16, 7), 3), new UUID()],
      keys: [new MinKey(), new MaxKey()],
      regex: new BSONRegExp('^a.*b$', 'im'),
      timestamp: new Timestamp({ t: 1_700_000_000, i: 7 }),
      code: new Code('function () { return 1; }'),
      nested: { a: { b: [{ c: new Int32(1) }, [new Int32(1), 'x', []], {}] }, 'dotted.key$': 'v' },
    };
    const collection = (client: MongoClient) =>
      client
        .db('jetsaga_infra_test')
        .collection<{ _id: ObjectId | string; [field: string]: unknown }>('bson');
    // Wrapped numbers (Int32, Long, Double) and BSONRegExp as stored, rather than JS numbers and RegExps.
    const readOptions = { promoteValues: false, promoteBuffers: false, bsonRegExp: true } as const;
    const read = (client: MongoClient) =>
      Promise.all([
        collection(client).findOne({ _id: typed._id }, readOptions),
        collection(client).findOne({ _id: 'updated' }, readOptions),
      ]);
    let before: Awaited<ReturnType<typeof read>> | undefined;
    await withMongo(infra.mongoUrl, async (client) => {
      await collection(client).insertOne(typed);
      const updated = client.db('jetsaga_infra_test').collection<{
        _id: string;
        n: Int32 | Long;
        list: unknown[];
        sub?: { field: Double };
        touched?: Date;
      }>('bson');
      await updated.insertOne({ _id: 'updated', n: new Int32(1), list: [1] });
      await updated.updateOne(
        { _id: 'updated' },
        {
          $inc: { n: Long.fromInt(2) },
          $push: { list: { $each: [new Decimal128('0.1'), { deep: new Date(5) }] } },
          $set: { 'sub.field': new Double(2.5) },
          $currentDate: { touched: true },
        },
      );
      before = await read(client);
    });
    expect(before?.[0]).toEqual(typed);
    expect(before?.[1]).toMatchObject({ n: Long.fromInt(3), sub: { field: new Double(2.5) } });

    await infra.mongo!.restart();
    await withMongo(infra.mongoUrl, async (client) => {
      expect(await read(client)).toEqual(before);
    });
  });

  it('keeps JetStream streams across a nats-server crash (kill + restart)', async () => {
    const nats = infra.nats!;
    let nc = await connect({ servers: infra.natsUrl });
    await (await jetstreamManager(nc)).streams.add({ name: 'INFRA_TEST', subjects: ['infra.test.>'] });
    await nc.close();

    await nats.kill();
    expect(nats.running).toBe(false);
    await nats.restart();

    nc = await connect({ servers: infra.natsUrl });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('INFRA_TEST');
      expect(info.config.subjects).toEqual(['infra.test.>']);
    } finally {
      await nc.close();
    }
  });

  it('uses NATS_URL and MONGO_URL from the environment as-is, without spawning anything', async () => {
    const external = await resolveInfra({
      env: { ...envWithoutUrls(), NATS_URL: infra.natsUrl, MONGO_URL: infra.mongoUrl },
    });
    expect(external.mode).toBe('env');
    expect(external.natsUrl).toBe(infra.natsUrl);
    expect(external.mongoUrl).toBe(infra.mongoUrl);
    expect(external.mongoKind).toBe('external');
    expect(external.nats).toBeUndefined();
    expect(external.mongo).toBeUndefined();
    expect(external.describe()).toBe(`env: NATS_URL=${infra.natsUrl}, MONGO_URL=${infra.mongoUrl}`);

    await external.stop();
    // Stopping an env-mode Infra must leave the servers it was given alone.
    expect(infra.nats?.running).toBe(true);
    expect(await jetStreamEnabled(external.natsUrl)).toBe(true);
  });

  it('stop() is idempotent and removes the data dirs', async () => {
    const dirs = [infra.nats?.dataDir, infra.mongo?.dataDir];
    await Promise.all([infra.stop(), infra.stop()]);
    await infra.stop();
    expect(infra.nats?.running).toBe(false);
    expect(infra.mongo?.running).toBe(false);
    for (const dir of dirs) expect(dir && existsSync(dir)).toBe(false);
  });
});

describe('resolveInfra, containers', () => {
  // Quickly: the test's own deadline.
  it('answers quickly and without throwing when no Docker engine is reachable', async () => {
    const available = await dockerEngineAvailable({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(available).toBe(false);
  }, 1_500);

  it.skipIf(!dockerAvailable)(
    'starts the pinned nats and mongo images when Docker answers',
    async () => {
      const infra = await resolveInfra({ env: envWithoutUrls() });
      try {
        expect(infra.mode).toBe('containers');
        expect(infra.mongoKind).toBe('container');
        expect(await jetStreamEnabled(infra.natsUrl)).toBe(true);
        await withMongo(infra.mongoUrl, async (client) => {
          await client.db('jetsaga_infra_test').collection('ping').insertOne({ ok: 1 });
        });
      } finally {
        await infra.stop();
      }
    },
    PROVISION_TIMEOUT_MS,
  );
});
