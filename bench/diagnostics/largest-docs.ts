// The largest document of each collection after the end-to-end levels: a document that every saga
// updates and that grows with every saga (a hot spot) shows here.
import { BSON, type Db } from 'mongodb';

export interface LargestDoc {
  collection: string;
  /** Documents read (at most 50,000 per collection). */
  docs: number;
  maxBytes: number;
  maxId: string;
}

/** Each collection's largest document (BSON size), largest first. */
export async function largestDocuments(database: Db): Promise<LargestDoc[]> {
  const out: LargestDoc[] = [];
  for (const { name } of await database.listCollections({}, { nameOnly: true }).toArray()) {
    let docs = 0;
    let max = 0;
    let maxId = '';
    for await (const doc of database.collection(name).find({}).limit(50_000)) {
      docs++;
      const size = BSON.calculateObjectSize(doc);
      if (size > max) {
        max = size;
        maxId = String(doc._id);
      }
    }
    out.push({ collection: name, docs, maxBytes: max, maxId });
  }
  return out.sort((a, b) => b.maxBytes - a.maxBytes);
}
