package dev.jetsaga;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.KeyConstraintError;

/**
 * A unique index that also answers filters with more keys than its own: `{_id: x, rev: 3}` is
 * looked up as `{_id: x}` and the candidate goes through the full matcher. A compound one also
 * answers filters on its first key alone, as mongod answers an index's prefix: `{sagaId: x}` from
 * `{sagaId: 1, rev: 1}` (through an {@link OrderedIndex} on that key, kept beside it; without it
 * every read of one saga's history scanned the whole collection). Everything else is the
 * library's index, unchanged.
 */
final class KeySubsetIndex extends Index<Object> {
  private final Index<Object> inner;
  /** On the first key of a compound index; null for a single-key one. */
  private final OrderedIndex prefix;

  KeySubsetIndex(Index<Object> inner, boolean sparse, OrderedIndex prefix) {
    super(inner.getName(), inner.getKeys(), sparse);
    this.inner = inner;
    this.prefix = prefix;
  }

  /** The filter restricted to this index's keys, or null when it does not constrain all of them. */
  private Document ownKeys(Document query) {
    Document own = new Document();
    for (String key : keySet()) {
      if (!query.containsKey(key)) return null;
      own.put(key, query.get(key));
    }
    return own;
  }

  /** The filter restricted to this index's keys when the unique index answers it, else null. */
  private Document byAllKeys(Document query) {
    Document own = ownKeys(query);
    return own != null && inner.canHandle(own) ? own : null;
  }

  @Override
  public boolean canHandle(Document query) {
    return byAllKeys(query) != null || (prefix != null && prefix.canHandle(query));
  }

  @Override
  public Iterable<Object> getPositions(Document query) {
    Document own = byAllKeys(query);
    return own != null ? inner.getPositions(own) : prefix.getPositions(query);
  }

  @Override
  public Object getPosition(Document document) {
    return inner.getPosition(document);
  }

  @Override
  public void checkAdd(Document document, MongoCollection<Object> collection) {
    inner.checkAdd(document, collection);
  }

  @Override
  public void add(Document document, Object position, MongoCollection<Object> collection) {
    inner.add(document, position, collection);
    if (prefix != null) prefix.add(document, position, collection);
  }

  @Override
  public Object remove(Document document) {
    if (prefix != null) prefix.remove(document);
    return inner.remove(document);
  }

  @Override
  public long getCount() {
    return inner.getCount();
  }

  @Override
  public boolean isEmpty() {
    return inner.isEmpty();
  }

  @Override
  public long getDataSize() {
    return inner.getDataSize();
  }

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
    inner.checkUpdate(oldDocument, newDocument, collection);
  }

  @Override
  public void updateInPlace(
      Document oldDocument, Document newDocument, Object position, MongoCollection<Object> collection)
      throws KeyConstraintError {
    inner.updateInPlace(oldDocument, newDocument, position, collection);
    if (prefix != null) prefix.updateInPlace(oldDocument, newDocument, position, collection);
  }

  @Override
  public void drop() {
    inner.drop();
    if (prefix != null) prefix.drop();
  }

  @Override
  public boolean isUnique() {
    return inner.isUnique();
  }

  @Override
  public Document toIndexDescription() {
    return inner.toIndexDescription();
  }
}
