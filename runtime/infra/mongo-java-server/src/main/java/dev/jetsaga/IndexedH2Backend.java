package dev.jetsaga;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend of mongo-java-server with the index use a mongod would make. The library
 * answers a query from an index only when the filter's keys are exactly the keys of a unique
 * index, and ignores every non-unique index ("not yet implemented"): `updateOne({_id, rev})`,
 * `find({nextWakeAt: {$lte: now}})` and `find({customerId})` all scan the whole collection. Here
 * <ul>
 *   <li>unique indexes (the `_id` index among them) live in memory ({@link MemoryKeyIndex}) and
 *   also serve filters that constrain their keys
 *   with equality or `$in` next to other conditions ({@link KeySubsetIndex});</li>
 *   <li>secondary indexes exist: ordered on their first key, for equality, `$in` and ranges
 *   ({@link OrderedIndex}), kept in memory and rebuilt from the documents when a database is
 *   opened.</li>
 * </ul>
 * Either kind only narrows the candidates; every candidate still goes through the library's own
 * matcher, so results are exactly those of a scan. Collections ({@link SafeH2Collection}) also
 * add and drop indexes under their lock: the library does not, so an index created while another
 * client queried failed that query (ConcurrentModificationException, "Unknown error").
 */
final class IndexedH2Backend extends H2Backend {
  IndexedH2Backend(String fileName) {
    super(fileName);
  }

  @Override
  protected MongoDatabase openOrCreateDatabase(String databaseName) {
    return new IndexedH2Database(databaseName, getMvStore(), getCursorRegistry());
  }

  /** Inner, not static: the H2Database constructor already opens collections, before a field of ours is set. */
  final class IndexedH2Database extends H2Database {
    IndexedH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
      super(databaseName, mvStore, cursorRegistry);
    }

    /**
     * As the H2 backend opens a collection (same map names, so existing data files open as before),
     * but with documents stored as BSON ({@link BsonDocumentType}) rather than Java serialization.
     */
    @Override
    protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
      String fullName = getFullCollectionNamespace(collectionName);
      MVStore store = getMvStore();
      MVMap<Object, Document> dataMap =
          store.openMap("databases." + fullName, new MVMap.Builder<Object, Document>().valueType(new BsonDocumentType()));
      MVMap<String, Object> metaMap = store.openMap("meta." + fullName);
      return new SafeH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      return new KeySubsetIndex(new MemoryKeyIndex(indexName, keys, sparse), sparse);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      return new OrderedIndex(indexName, keys, sparse);
    }
  }

  /**
   * An H2 collection whose index list changes under the collection's lock (queries iterate it
   * under that lock), and that does not keep a running data size (`collStats` sizes): it cost an
   * extra BSON encoding of every written document.
   */
  static final class SafeH2Collection extends H2Collection {
    SafeH2Collection(
        MongoDatabase database,
        String collectionName,
        CollectionOptions options,
        MVMap<Object, Document> dataMap,
        MVMap<String, Object> metaMap,
        CursorRegistry cursorRegistry) {
      super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    public synchronized void addIndex(Index<Object> index) {
      super.addIndex(index);
    }

    @Override
    public synchronized void dropIndex(String indexName) {
      super.dropIndex(indexName);
    }

    @Override
    protected boolean tracksDataSize() {
      return false;
    }
  }
}
