package dev.jetsaga;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * A non-unique secondary index, ordered on its first key, kept in memory (rebuilt from the
 * documents when the database opens). It narrows a filter's candidates by that key's equality,
 * `$eq`, `$in` and range conditions on numbers and dates; the library's matcher then applies the
 * whole filter, so an index that returns a few too many candidates is harmless and one that
 * returned too few would be a bug. Hence:
 * <ul>
 *   <li>numbers are keyed as doubles and ranges are inclusive (longs beyond 2^53 share a key);</li>
 *   <li>values of other types (subdocuments, ObjectIds, decimals, ...) are candidates of every
 *   query;</li>
 *   <li>missing and null values are not indexed, and no filter that could match them (equality
 *   with null, `$exists`, `$ne`, ...) is answered from the index;</li>
 *   <li>array values are indexed by element (multikey), as in MongoDB.</li>
 * </ul>
 */
final class OrderedIndex extends Index<Object> {
  private static final Set<String> RANGE = Set.of("$gt", "$gte", "$lt", "$lte");

  private final String field;
  private final String[] path;
  private final TreeMap<Double, Set<Object>> numbers = new TreeMap<>();
  private final TreeMap<Long, Set<Object>> dates = new TreeMap<>();
  private final Map<String, Set<Object>> strings = new HashMap<>();
  private final Map<Boolean, Set<Object>> booleans = new HashMap<>();
  private final Set<Object> others = new HashSet<>();
  private final Map<Object, Object> positionById = new HashMap<>();

  OrderedIndex(String name, List<IndexKey> keys, boolean sparse) {
    super(name, keys, sparse);
    this.field = keys.get(0).getKey();
    this.path = field.split("\\.");
  }

  // ---- what a document holds under the key ----

  private List<Object> valuesOf(Document document) {
    List<Object> out = new ArrayList<>();
    collect(document, 0, out);
    return out;
  }

  private void collect(Object value, int depth, List<Object> out) {
    if (depth == path.length) {
      if (value instanceof Collection<?> list) out.addAll(list);
      else out.add(value);
      return;
    }
    if (value instanceof Document doc) {
      if (doc.containsKey(path[depth])) collect(doc.get(path[depth]), depth + 1, out);
    } else if (value instanceof List<?> list) {
      for (Object element : list) collect(element, depth, out);
      if (path[depth].matches("\\d+")) {
        int i = Integer.parseInt(path[depth]);
        if (i < list.size()) collect(list.get(i), depth + 1, out);
      }
    }
  }

  /** The bucket a value lives in; null when the value is missing or null (not indexed). */
  private Set<Object> bucket(Object value, boolean create) {
    if (value == null || value.getClass().getSimpleName().equals("Missing")) return null;
    if (isNumber(value)) return bucketIn(numbers, ((Number) value).doubleValue(), create);
    if (isDate(value)) return bucketIn(dates, millis(value), create);
    if (value instanceof String s) return bucketIn(strings, s, create);
    if (value instanceof Boolean b) return bucketIn(booleans, b, create);
    return others;
  }

  private static <K> Set<Object> bucketIn(Map<K, Set<Object>> map, K key, boolean create) {
    Set<Object> set = map.get(key);
    if (set == null && create) {
      set = new HashSet<>(2);
      map.put(key, set);
    }
    return set;
  }

  private void index(Document document, Object position) {
    for (Object value : valuesOf(document)) {
      Set<Object> set = bucket(value, true);
      if (set != null) set.add(position);
    }
    positionById.put(document.get("_id"), position);
  }

  private void unindex(Document document, Object position) {
    for (Object value : valuesOf(document)) {
      if (value == null || value.getClass().getSimpleName().equals("Missing")) continue;
      if (isNumber(value)) removeFrom(numbers, ((Number) value).doubleValue(), position);
      else if (isDate(value)) removeFrom(dates, millis(value), position);
      else if (value instanceof String s) removeFrom(strings, s, position);
      else if (value instanceof Boolean b) removeFrom(booleans, b, position);
      else others.remove(position);
    }
  }

  private static <K> void removeFrom(Map<K, Set<Object>> map, K key, Object position) {
    Set<Object> set = map.get(key);
    if (set == null) return;
    set.remove(position);
    if (set.isEmpty()) map.remove(key);
  }

  // ---- queries ----

  private static boolean isNumber(Object v) {
    return v instanceof Integer || v instanceof Long || v instanceof Double;
  }

  private static boolean isDate(Object v) {
    return v instanceof Instant || v instanceof Date;
  }

  private static long millis(Object v) {
    return v instanceof Instant i ? i.toEpochMilli() : ((Date) v).getTime();
  }

  private static boolean isScalar(Object v) {
    return isNumber(v) || isDate(v) || v instanceof String || v instanceof Boolean;
  }

  private static boolean isOperatorDocument(Document condition) {
    if (condition.isEmpty()) return false;
    for (String key : condition.keySet()) if (!key.startsWith("$")) return false;
    return true;
  }

  /** Whether `$in` lists only values this index keys. */
  private static boolean isScalarList(Object v) {
    if (!(v instanceof Collection<?> list)) return false;
    for (Object element : list) if (!isScalar(element)) return false;
    return true;
  }

  /** Range bounds on numbers or dates, all of one kind. */
  private static boolean isRange(Document condition) {
    Boolean dates = null;
    for (String op : RANGE) {
      if (!condition.containsKey(op)) continue;
      Object bound = condition.get(op);
      boolean date = isDate(bound);
      if (!date && !isNumber(bound)) return false;
      if (dates != null && dates != date) return false;
      dates = date;
    }
    return dates != null;
  }

  @Override
  public synchronized boolean canHandle(Document query) {
    if (!query.containsKey(field)) return false;
    Object condition = query.get(field);
    if (isScalar(condition)) return true;
    if (!(condition instanceof Document doc) || !isOperatorDocument(doc)) return false;
    if (doc.containsKey("$eq") && isScalar(doc.get("$eq"))) return true;
    if (doc.containsKey("$in") && isScalarList(doc.get("$in"))) return true;
    return isRange(doc);
  }

  @Override
  public synchronized Iterable<Object> getPositions(Document query) {
    Object condition = query.get(field);
    Set<Object> out = new LinkedHashSet<>();
    if (isScalar(condition)) {
      addBucket(out, condition);
    } else {
      Document doc = (Document) condition;
      if (doc.containsKey("$eq") && isScalar(doc.get("$eq"))) {
        addBucket(out, doc.get("$eq"));
      } else if (doc.containsKey("$in") && isScalarList(doc.get("$in"))) {
        for (Object v : (Collection<?>) doc.get("$in")) addBucket(out, v);
      } else {
        addRange(out, doc);
      }
    }
    out.addAll(others);
    return new ArrayList<>(out);
  }

  private void addBucket(Set<Object> out, Object value) {
    Set<Object> set = bucket(value, false);
    if (set != null) out.addAll(set);
  }

  private void addRange(Set<Object> out, Document doc) {
    Object lo = doc.containsKey("$gte") ? doc.get("$gte") : doc.get("$gt");
    Object hi = doc.containsKey("$lte") ? doc.get("$lte") : doc.get("$lt");
    Object any = lo != null ? lo : hi;
    if (isDate(any)) {
      NavigableMap<Long, Set<Object>> range = dates;
      if (lo != null) range = range.tailMap(millis(lo), true);
      if (hi != null) range = range.headMap(millis(hi), true);
      for (Set<Object> set : range.values()) out.addAll(set);
    } else {
      NavigableMap<Double, Set<Object>> range = numbers;
      if (lo != null) range = range.tailMap(((Number) lo).doubleValue(), true);
      if (hi != null) range = range.headMap(((Number) hi).doubleValue(), true);
      for (Set<Object> set : range.values()) out.addAll(set);
    }
  }

  // ---- maintenance, called by the collection ----

  @Override
  public synchronized void add(Document document, Object position, MongoCollection<Object> collection) {
    index(document, position);
  }

  @Override
  public synchronized Object remove(Document document) {
    Object position = positionById.remove(document.get("_id"));
    if (position != null) unindex(document, position);
    return position;
  }

  @Override
  public synchronized void updateInPlace(
      Document oldDocument, Document newDocument, Object position, MongoCollection<Object> collection) {
    unindex(oldDocument, position);
    index(newDocument, position);
  }

  @Override
  public Object getPosition(Document document) {
    return null;
  }

  @Override
  public void checkAdd(Document document, MongoCollection<Object> collection) {}

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {}

  @Override
  public synchronized long getCount() {
    return positionById.size();
  }

  @Override
  public synchronized boolean isEmpty() {
    return positionById.isEmpty();
  }

  @Override
  public long getDataSize() {
    return 0;
  }

  @Override
  public synchronized void drop() {
    numbers.clear();
    dates.clear();
    strings.clear();
    booleans.clear();
    others.clear();
    positionById.clear();
  }

  @Override
  public boolean isUnique() {
    return false;
  }
}
