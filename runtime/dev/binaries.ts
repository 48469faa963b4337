// Resolves the server binaries for local mode: an explicit path, a cached build, a suitable binary on
// PATH, or a fresh build (nats-server with the Go toolchain, mongo-java-server with a JDK and Maven).
// One module per concern, gathered here: the binary cache (cache.ts), the toolchains that build
// (toolchains.ts), and the two servers (nats-binary.ts, mongo-wire-binary.ts).
export { type BinaryOptions, cacheBinDir, defaultLog } from './cache.ts';
export { binaryVersion } from './exec.ts';
export {
  ensureMongoWireServer,
  MONGO_JAVA_SERVER_VERSION,
  mongoJavaServerArgs,
  type MongoWireServer,
  storeHeapOptions,
} from './mongo-wire-binary.ts';
export { ensureNatsServer, NATS_SERVER_VERSION } from './nats-binary.ts';
export { javaMajorVersion } from './toolchains.ts';
