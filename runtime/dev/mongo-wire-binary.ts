// The MongoDB-wire server for local mode: mongod on PATH, else mongo-java-server (H2 file backend) with
// our main and index support, built with a JDK and Maven into the binary cache; and its command line.
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BinaryOptions, buildIntoCache, cacheBinDir, defaultLog } from './cache.ts';
import { findOnPath } from './exec.ts';
import { requireJava, requireJdkAndMaven, runTool } from './toolchains.ts';

/** Must match the version in ./mongo-java-server/pom.xml. */
export const MONGO_JAVA_SERVER_VERSION = '1.47.0';
const MONGO_WIRE_MAIN_CLASS = 'dev.jetsaga.MongoWire';
/** The Java sources of the server's main and its index support, relative to the source dir. */
const MONGO_WIRE_SOURCES = [
  'src/main/java/dev/jetsaga/MongoWire.java',
  'src/main/java/dev/jetsaga/IndexedH2Backend.java',
  'src/main/java/dev/jetsaga/BsonDocumentType.java',
  'src/main/java/dev/jetsaga/KeySubsetIndex.java',
  'src/main/java/dev/jetsaga/MemoryKeyIndex.java',
  'src/main/java/dev/jetsaga/OrderedIndex.java',
];

export type MongoWireServer =
  | {
      kind: 'mongod';
      /** The mongod binary. */
      path: string;
    }
  | {
      kind: 'mongo-java-server';
      /** The build directory, holding lib/ (jars from Maven Central) and classes/ (the main). */
      path: string;
      /** The java launcher (>= 17) that runs it. */
      java: string;
    };

export async function ensureMongoWireServer(opts: BinaryOptions = {}): Promise<MongoWireServer> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;

  const mongod = await findOnPath('mongod', env);
  if (mongod) return { kind: 'mongod', path: mongod };
  return ensureMongoJavaServer(env, log);
}

/**
 * mongo-java-server from Maven Central plus the main and index support in ./mongo-java-server, built into
 * `<cache>/bin/mongo-java-server-<version>-<hash>/{lib,classes}`. The hash covers pom.xml and the main,
 * so editing any of them builds a fresh directory instead of running a stale one.
 */
async function ensureMongoJavaServer(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<MongoWireServer> {
  const label = `mongo-java-server ${MONGO_JAVA_SERVER_VERSION}`;
  const fix =
    'Fix: install a JDK >= 17 and Maven (e.g. `apt-get install openjdk-17-jdk-headless maven`) and retry, ' +
    'or install MongoDB so that `mongod` is on PATH, or set MONGO_URL to an existing mongod / replica set.';
  const java = await requireJava(env, label, fix);

  const sourceDir = mongoJavaServerSourceDir();
  const sources = await Promise.all(
    ['pom.xml', ...MONGO_WIRE_SOURCES].map((file) => readFile(path.join(sourceDir, file))),
  );
  const hash = createHash('sha256');
  for (const source of sources) hash.update(source);
  const target = path.join(
    cacheBinDir(env),
    `mongo-java-server-${MONGO_JAVA_SERVER_VERSION}-${hash.digest('hex').slice(0, 12)}`,
  );
  if (await isMongoJavaServerBuild(target)) return { kind: 'mongo-java-server', path: target, java };

  const { mvn, javac } = await requireJdkAndMaven(env, java, label, fix);
  const built = await buildIntoCache(
    { label, target, log, duration: 'under a minute', isBuilt: isMongoJavaServerBuild },
    async (outDir) => {
      const stage = path.join(outDir, 'stage');
      const lib = path.join(stage, 'lib');
      const classes = path.join(stage, 'classes');
      await runTool(
        mvn,
        [
          '-q',
          '-B',
          '-Dstyle.color=never',
          '-f',
          path.join(sourceDir, 'pom.xml'),
          'dependency:copy-dependencies',
          `-DoutputDirectory=${lib}`,
        ],
        { cwd: outDir, env, label },
      );
      await runTool(
        javac,
        [
          '--release',
          '17',
          '-encoding',
          'UTF-8',
          '-d',
          classes,
          '-cp',
          path.join(lib, '*'),
          ...MONGO_WIRE_SOURCES.map((file) => path.join(sourceDir, file)),
        ],
        { cwd: outDir, env, label },
      );
      return stage;
    },
  );
  return { kind: 'mongo-java-server', path: built, java };
}

/**
 * The store's heap: a young generation of up to 2 GB. Every young collection stops the server and
 * scans the old generation's dirty cards, and the old generation is the database (H2's cached
 * pages, our in-memory indexes), which every write dirties: with the serial collector a
 * collection cost about 100 ms whatever the young generation's size. With the JVM's default (a
 * third of 1/64 of the RAM: 128 MB on 24 GB) a store under load collected more than once a second
 * and spent a sixth of a core on it; 1.5-2 GB makes that some 15 times rarer. The sizes are shares of the RAM the JVM sees (a container's limit included):
 * an initial heap of 1/8, half of it young, the young part capped at 2 GB; the maximum stays the
 * JVM's (1/4).
 * `JETSAGA_STORE_JAVA_OPTS` comes later on the command line, so `-Xmn`/`-Xms` there win.
 */
export const storeHeapOptions: readonly string[] = [
  '-XX:InitialRAMPercentage=12.5',
  '-XX:NewRatio=1',
  '-XX:MaxNewSize=2g',
];

/** The java command line that runs a mongo-java-server build; the store dir is the H2 file's parent. */
export function mongoJavaServerArgs(
  buildDir: string,
  opts: { host: string; port: number; storeDir?: string },
): string[] {
  const classpath = [path.join(buildDir, 'classes'), path.join(buildDir, 'lib', '*')].join(path.delimiter);
  // Extra JVM options, e.g. a flight recording to profile the store (README, "Local infrastructure");
  // one that picks a garbage collector replaces ours.
  const extra = (process.env.JETSAGA_STORE_JAVA_OPTS ?? '').split(' ').filter(Boolean);
  const args = [
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    // The parallel collector: stop-the-world like serial, on every core, and nothing that runs
    // between collections (G1's refinement threads woke idle vCPUs). With `storeHeapOptions` it gave
    // 293-298 sagas/s at 256 in flight against serial's 233-278, and recoveries of 30-31 s against
    // 35-39. Default (tiered) JIT on purpose:
    // startup is ~0.4 s either way and C2 matters for the throughput of long test runs.
    ...(extra.some((o) => /^-XX:\+Use\w+GC$/.test(o)) ? [] : ['-XX:+UseParallelGC']),
    ...storeHeapOptions,
    '-Xss512k',
    ...extra,
    '-cp',
    classpath,
    MONGO_WIRE_MAIN_CLASS,
    '--host',
    opts.host,
    '--port',
    String(opts.port),
  ];
  if (opts.storeDir !== undefined) args.push('--dir', opts.storeDir);
  return args;
}

async function isMongoJavaServerBuild(dir: string): Promise<boolean> {
  try {
    await access(path.join(dir, 'classes', 'dev', 'jetsaga', 'MongoWire.class'));
    return true;
  } catch {
    return false;
  }
}

function mongoJavaServerSourceDir(): string {
  return fileURLToPath(new URL('./mongo-java-server', import.meta.url));
}
