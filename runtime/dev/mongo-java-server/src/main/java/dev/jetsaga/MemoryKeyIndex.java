package dev.jetsaga;

import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A unique index (the `_id` index among them) in a hash map, rebuilt from the documents when the
 * database opens. The H2 backend's own keeps its keys in an MVStore map whose key type has no
 * comparator of its own: every step of every lookup's binary search serialized both keys with
 * Java serialization (a fifth of the server's CPU under the bench). Uniqueness, sparse indexes and
 * the query handling are the library's (AbstractUniqueIndex); only the storage differs.
 */
final class MemoryKeyIndex extends AbstractUniqueIndex<Object> {
  private final Map<KeyValue, Object> positions = new ConcurrentHashMap<>();

  MemoryKeyIndex(String name, List<IndexKey> keys, boolean sparse) {
    super(name, keys, sparse);
  }

  @Override
  protected Object removeDocument(KeyValue key) {
    return positions.remove(key);
  }

  @Override
  protected boolean putKeyPosition(KeyValue key, Object position) {
    return positions.putIfAbsent(key, position) == null;
  }

  @Override
  protected Iterable<Map.Entry<KeyValue, Object>> getIterable() {
    return positions.entrySet();
  }

  @Override
  protected Object getPosition(KeyValue key) {
    return positions.get(key);
  }

  @Override
  public long getCount() {
    return positions.size();
  }

  @Override
  public boolean isEmpty() {
    return positions.isEmpty();
  }

  @Override
  public long getDataSize() {
    return getCount();
  }
}
