// The bench's count of store calls (role-stats.ts) against the test run's MongoDB-wire server: from the
// driver's command monitoring, each collection call once under the name the driver's API gives it, and a
// write per document of a bulk write.
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { countCollectionCalls, withCommandMonitoring } from './role-stats.ts';

const dbName = `bench_counts_${Date.now().toString(36)}`;
const clients: MongoClient[] = [];
const client = (url: string) => {
  const c = new MongoClient(url);
  clients.push(c);
  return c;
};

afterAll(async () => {
  await clients[0]
    ?.db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await Promise.all(clients.map((c) => c.close()));
});

describe('countCollectionCalls', () => {
  it('counts each call by its API name and collection, and a write per document', async () => {
    const mongo = client(withCommandMonitoring(inject('mongoUrl')));
    const read = countCollectionCalls(mongo);
    expect(read).not.toBeNull();
    await mongo.connect();
    const db = mongo.db(dbName);
    const a = db.collection<{ _id: string; n?: number; m?: number }>('a');
    const b = db.collection<{ _id: string }>('b');
    await a.insertOne({ _id: 'a1', n: 1 });
    await a.insertMany(
      [
        { _id: 'a2', n: 2 },
        { _id: 'a3', n: 3 },
      ],
      { ordered: false },
    );
    await b.insertMany([{ _id: 'b1' }], { ordered: false });
    await a.updateOne({ _id: 'a1' }, { $set: { n: 10 } });
    await a.updateMany({}, { $inc: { m: 1 } });
    await a.replaceOne({ _id: 'a2' }, { n: 20 });
    await a.bulkWrite(
      ['a1', 'a2', 'a3'].map((id) => ({ updateOne: { filter: { _id: id }, update: { $inc: { n: 1 } } } })),
      { ordered: false },
    );
    await a.findOne({ _id: 'a1' });
    await a.find({ n: { $gt: 0 } }).toArray();
    await a.findOneAndUpdate({ _id: 'a3' }, { $set: { n: 30 } });
    await b.deleteOne({ _id: 'b1' });
    await a.deleteMany({ n: { $gt: 100 } });
    await a.countDocuments({});

    const counts = read!();
    expect(counts.calls).toEqual({
      'a.insertOne': 1,
      'a.insertMany': 1,
      'b.insertMany': 1,
      'a.updateOne': 1,
      'a.updateMany': 1,
      'a.replaceOne': 1,
      'a.bulkWrite': 1,
      'a.findOne': 1,
      'a.find': 1,
      'a.findOneAndUpdate': 1,
      'b.deleteOne': 1,
      'a.deleteMany': 1,
      'a.aggregate': 1,
    });
    expect(counts.commands).toMatchObject({ insertMany: 2, bulkWrite: 1, findOne: 1, find: 1 });
    // 1 + 2 + 1 inserted, 1 + 1 + 1 + 3 updated, 1 findAndModify, 1 + 1 deletes.
    expect(counts.writes).toBe(13);
  });

  it('counts nothing for a client without command monitoring', () => {
    expect(countCollectionCalls(client(inject('mongoUrl')))).toBeNull();
  });
});

describe('withCommandMonitoring', () => {
  it('adds the option to any connection string once', () => {
    expect(withCommandMonitoring('mongodb://127.0.0.1:27017')).toBe(
      'mongodb://127.0.0.1:27017/?monitorCommands=true',
    );
    expect(withCommandMonitoring('mongodb://127.0.0.1:27017/app')).toBe(
      'mongodb://127.0.0.1:27017/app?monitorCommands=true',
    );
    expect(withCommandMonitoring('mongodb://u:p@a:1,b:2/?replicaSet=rs')).toBe(
      'mongodb://u:p@a:1,b:2/?replicaSet=rs&monitorCommands=true',
    );
    expect(withCommandMonitoring('mongodb://a:1/?monitorCommands=true')).toBe(
      'mongodb://a:1/?monitorCommands=true',
    );
  });
});
