package dev.jetsaga;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import java.util.List;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A MongoDB-wire server for local development and tests: mongo-java-server with the H2
 * MVStore backend when a data directory is given (data survives restarts), else in memory.
 * With a data directory, queries use indexes the way mongod's planner would (see
 * {@link IndexedH2Backend}): the library alone scans a whole collection for any filter that is
 * not exactly the keys of a unique index, e.g. every `updateOne({_id, rev})`.
 */
public final class MongoWire {
  public static void main(String[] args) throws Exception {
    String host = "127.0.0.1";
    int port = 27017;
    String dir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--host" -> host = args[++i];
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--dir" -> dir = args[++i];
        default -> {
          System.err.println("jetsaga-mongo-wire: unknown option " + args[i] + " (use --host, --port, --dir)");
          System.exit(2);
        }
      }
    }
    final MongoBackend backend;
    if (dir != null) {
      Files.createDirectories(Path.of(dir));
      backend = new IndexedH2Backend(Path.of(dir, "data.mv").toString());
    } else {
      backend = new MemoryBackend();
    }
    // Current drivers refuse a server below wire version 9 (MongoDB 4.4); the library's
    // own 5.0 dialect still reports 8. Its command set is what the driver uses, so say 5.0.
    backend.version(new MongoVersion() {
      @Override
      public List<Integer> getVersionArray() {
        return List.of(5, 0, 0);
      }

      @Override
      public int getWireVersion() {
        return 13;
      }
    });
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    System.err.println("jetsaga-mongo-wire: listening on " + host + ":" + port + (dir != null ? ", data in " + dir : ", in memory"));
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      // The server does not close its backend: close it so H2 commits what it holds.
      backend.close();
      stop.countDown();
    }));
    stop.await();
  }
}
