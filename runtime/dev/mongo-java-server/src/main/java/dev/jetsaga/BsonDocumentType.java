package dev.jetsaga;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ObjectDataType;

/**
 * The H2 value type of a collection's documents: a tag byte, then the document as BSON, written
 * and read by mongo-java-server's own wire codec. H2's default (ObjectDataType) wrote documents
 * with Java serialization, about a third of the server's CPU under the bench.
 *
 * <p>The map names stay those of the library (its drop, rename and database discovery use them)
 * and old data files stay readable: ObjectDataType starts every value with a byte in
 * 0..119 (19 for a serialized Document), never with {@link #BSON_TAG}, so an untagged value was
 * written by an older build and is read as before; it becomes BSON when its document is next
 * written. The same old format is the fallback for a document BSON cannot hold (a value the codec
 * refuses, such as the library's internal Missing marker, or more than the 16 MB the decoder
 * accepts): write runs when H2 commits, and an exception there would fail the whole store.
 *
 * <p>BSON keeps everything a document can receive from the wire exactly. Two kinds of values the
 * server makes itself come back normalized, the way a client sees them anyway: dates from
 * `$currentDate` / `$$NOW` lose their sub-millisecond part, and sets (from aggregation stages
 * writing with `$out` / `$merge`) come back as lists.
 */
final class BsonDocumentType extends BasicDataType<Document> {
  /** Never the first byte of an ObjectDataType value (those are 0..119). */
  static final byte BSON_TAG = (byte) 0xBD;

  private final ObjectDataType legacy = new ObjectDataType();
  /**
   * What H2 counts a document as, for its page cache, page splits and early commits: a running
   * average of twelve times the encoded size. Cached pages hold their documents decoded, and a
   * decoded saga document takes about seven times its BSON size on the heap. Counted at three times
   * (what H2 made of a Java-serialized value), the cache held about 350 MB of documents in a bench
   * run with 20,000 sagas, which young collections copied and old ones traced: 11 s of pauses in
   * that run. At twelve times it holds about 60 MB, and the pauses were 6 s (bench/README.md).
   */
  private int averageMemory = 12 * 1024;

  @Override
  public int getMemory(Document document) {
    return averageMemory;
  }

  @Override
  public void write(WriteBuffer buff, Document document) {
    ByteBuf bson = Unpooled.buffer(averageMemory / 12); // unpooled heap memory: the GC frees it
    try {
      BsonEncoder.encodeDocument(document, bson);
    } catch (RuntimeException unencodable) {
      legacy.write(buff, document);
      return;
    }
    int size = bson.readableBytes();
    if (size > BsonConstants.MAX_BSON_OBJECT_SIZE) {
      legacy.write(buff, document);
      return;
    }
    averageMemory = (int) ((12L * size + 15L * averageMemory) / 16);
    buff.put(BSON_TAG).put(bson.array(), bson.arrayOffset() + bson.readerIndex(), size);
  }

  @Override
  public Document read(ByteBuffer buff) {
    if (buff.get(buff.position()) != BSON_TAG) return (Document) legacy.read(buff);
    buff.get();
    // A view of the rest of the page; the BSON length prefix says where the document ends.
    ByteBuf bson = Unpooled.wrappedBuffer(buff);
    Document document = BsonDecoder.decodeBson(bson);
    buff.position(buff.position() + bson.readerIndex());
    return document;
  }

  @Override
  public Document[] createStorage(int size) {
    return new Document[size];
  }
}
