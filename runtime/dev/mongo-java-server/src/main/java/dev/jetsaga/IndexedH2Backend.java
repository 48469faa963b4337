package dev.jetsaga;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import java.util.function.Supplier;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend of mongo-java-server with the index use a mongod would make. The library
 * answers a query from an index only when the filter's keys are exactly the keys of a unique
 * index, and ignores every non-unique index ("not yet implemented"): `updateOne({_id, rev})`,
 * `find({nextWakeAt: {$lte: now}})` and `find({customerId})` all scan the whole collection. Here
 * <ul>
 *   <li>unique indexes (the `_id` index among them) live in memory ({@link MemoryKeyIndex}) and
 *   also serve filters that constrain their keys with equality or `$in` next to other conditions,
 *   and compound ones filters on their first key ({@link KeySubsetIndex});</li>
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
      return new SafeH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry, store);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      OrderedIndex prefix = keys.size() > 1 ? new OrderedIndex(indexName, keys, sparse) : null;
      return new KeySubsetIndex(new MemoryKeyIndex(indexName, keys, sparse), sparse, prefix);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(
        String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
      return new OrderedIndex(indexName, keys, sparse);
    }
  }

  /**
   * An H2 collection whose index list changes under the collection's lock (queries iterate it
   * under that lock), that does not keep a running data size (`collStats` sizes): it cost an
   * extra BSON encoding of every written document, and whose reads pin the store version they
   * read.
   *
   * <p>Pinning: a read walks the map's pages from the root it started with, while other writes
   * commit new versions; MVStore drops a chunk whose pages are all replaced or moved a few versions
   * later, also under a reader still walking it: "Chunk N not found" (h2database issues 4142 and
   * 4383, open). It failed a read twice in the bench at concurrency 256, and one full scan in ten
   * of a bare MVStore in a stress probe (bench/JOURNAL.md, eighth pass). {@link
   * MVStore#registerVersionUsage()} keeps the chunks of every version from the pinned one on until
   * the read ends: none failed with it.
   */
  static final class SafeH2Collection extends H2Collection {
    private final MVStore store;

    SafeH2Collection(
        MongoDatabase database,
        String collectionName,
        CollectionOptions options,
        MVMap<Object, Document> dataMap,
        MVMap<String, Object> metaMap,
        CursorRegistry cursorRegistry,
        MVStore store) {
      super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
      this.store = store;
    }

    private <T> T pinned(Supplier<T> read) {
      MVStore.TxCounter pin = store.registerVersionUsage();
      try {
        return read.get();
      } finally {
        store.deregisterVersionUsage(pin);
      }
    }

    /** Every query, count, distinct, and the matching part of updates and deletes. */
    @Override
    protected QueryResult queryDocuments(
        Document query, Document orderBy, int numberToSkip, int limit, int batchSize, Document fieldSelector) {
      return pinned(() -> super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector));
    }

    @Override
    protected Object findDocumentPosition(Document document) {
      return pinned(() -> super.findDocumentPosition(document));
    }

    /** Building an index reads every document of the collection. */
    @Override
    public synchronized void addIndex(Index<Object> index) {
      pinned(() -> {
        super.addIndex(index);
        return null;
      });
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
