package dev.jetsaga;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import java.util.List;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend of mongo-java-server with the index use a mongod would make. The library
 * answers a query from an index only when the filter's keys are exactly the keys of a unique
 * index, and ignores every non-unique index ("not yet implemented"): `updateOne({_id, rev})`,
 * `find({nextWakeAt: {$lte: now}})` and `find({customerId})` all scan the whole collection. Here
 * <ul>
 *   <li>unique indexes (the `_id` index among them) also serve filters that constrain their keys
 *   with equality or `$in` next to other conditions ({@link KeySubsetIndex});</li>
 *   <li>secondary indexes exist: ordered on their first key, for equality, `$in` and ranges
 *   ({@link OrderedIndex}), kept in memory and rebuilt from the documents when a database is
 *   opened.</li>
 * </ul>
 * Either kind only narrows the candidates; every candidate still goes through the library's own
 * matcher, so results are exactly those of a scan.
 */
final class IndexedH2Backend extends H2Backend {
  IndexedH2Backend(String fileName) {
    super(fileName);
  }

  @Override
  protected MongoDatabase openOrCreateDatabase(String databaseName) {
    return new IndexedH2Database(databaseName, getMvStore(), getCursorRegistry());
  }

  static final class IndexedH2Database extends H2Database {
    IndexedH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
      super(databaseName, mvStore, cursorRegistry);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      return new KeySubsetIndex(super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse), sparse);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      return new OrderedIndex(indexName, keys, sparse);
    }
  }
}
