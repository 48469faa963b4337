// Resolves the server binaries for local mode: an explicit path, a cached build, a suitable binary on
// PATH, or a fresh build (nats-server with the Go toolchain, mongo-java-server with a JDK and Maven).
// Builds are cached outside the repo so that every checkout and worktree on a machine shares them and
// `git clean` does not throw them away.
import { createHash } from 'node:crypto';
import { access, chmod, mkdtemp, readFile, realpath, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath, isExecutable, parseVersion, run, tailLines, versionAtLeast } from './exec.ts';
import { isErrno, withDirLock } from './lock.ts';

export const NATS_SERVER_VERSION = 'v2.15.2';
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
/** Debian/Ubuntu ship nats-server 2.9, whose JetStream lacks features the runtime relies on. */
const MIN_PATH_NATS_SERVER = [2, 11, 0];
const MIN_GO = [1, 22, 0];
/** mongo-java-server 1.47 is compiled for Java 17. */
const MIN_JAVA = 17;

export interface BinaryOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (the first build takes minutes); defaults to stderr. */
  log?: (line: string) => void;
}

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

export function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.JETSAGA_CACHE_DIR || path.join(os.homedir(), '.cache', 'jetsaga');
  // Absolute, because it becomes GOBIN and go rejects a relative GOBIN.
  return path.resolve(root, 'bin');
}

export async function ensureNatsServer(opts: BinaryOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;

  const explicit = env.JETSAGA_NATS_SERVER;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`jetsaga: JETSAGA_NATS_SERVER=${explicit} is not an executable file`);
  }

  const binDir = cacheBinDir(env);
  const cached = path.join(binDir, `nats-server-${NATS_SERVER_VERSION}`);
  if (await isExecutable(cached)) return cached;

  const onPath = await findOnPath('nats-server', env);
  if (onPath) {
    const version = await binaryVersion(onPath);
    const parsed = version ? parseVersion(version) : undefined;
    if (parsed && versionAtLeast(parsed, MIN_PATH_NATS_SERVER)) return onPath;
    log(`jetsaga: ignoring ${onPath} (${version ?? 'unknown version'}; need >= 2.11)`);
  }

  const label = `nats-server ${NATS_SERVER_VERSION}`;
  const go = await requireGo(
    env,
    label,
    'or set NATS_URL to an existing NATS server with JetStream enabled, or JETSAGA_NATS_SERVER to a nats-server (>= 2.11) binary',
  );
  return buildIntoCache({ label, target: cached, log, duration: '~2 min' }, async (outDir) => {
    // GOBIN points at a private directory so the binary never lands in the user's ~/go/bin, and the
    // cwd is that directory so an enclosing go.mod / go.work cannot interfere with `go install pkg@v`.
    await runTool(go, ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
      cwd: outDir,
      env: { ...env, GOBIN: outDir, CGO_ENABLED: '0' },
      label,
    });
    const bin = path.join(outDir, 'nats-server');
    await chmod(bin, 0o755);
    return bin;
  });
}

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
 * and spent a sixth of a core on it; 1.5-2 GB makes that some 15 times rarer (bench/JOURNAL.md,
 * thirteenth pass). The sizes are shares of the RAM the JVM sees (a container's limit included):
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
    // between collections (G1's refinement threads woke idle vCPUs: bench/JOURNAL.md, ninth pass).
    // With `storeHeapOptions` it gave 293-298 sagas/s at 256 in flight against serial's 233-278, and
    // recoveries of 30-31 s against 35-39 (thirteenth pass). Default (tiered) JIT on purpose:
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

/**
 * The first "vX.Y.Z" printed by `<bin> --version` ("nats-server: v2.15.2", "db version v8.0.4"),
 * or undefined when the binary cannot say.
 */
export async function binaryVersion(bin: string): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(bin, ['--version']);
    return /v\d+\.\d+\.\d+\S*/.exec(`${stdout}\n${stderr}`)?.[0];
  } catch {
    return undefined;
  }
}

function mongoJavaServerSourceDir(): string {
  return fileURLToPath(new URL('./mongo-java-server', import.meta.url));
}

/**
 * Builds under a lock and publishes with rename(2): readers see either nothing or a complete build
 * (a binary or a directory), never a half-written one. The build directory is inside the cache dir so
 * the rename stays on one filesystem (and therefore atomic).
 */
async function buildIntoCache(
  spec: {
    label: string;
    target: string;
    log: (line: string) => void;
    /** Shown in the progress line of the first build. */
    duration: string;
    /** Whether `target` holds a complete build; default: it is an executable file. */
    isBuilt?: (target: string) => Promise<boolean>;
  },
  build: (outDir: string) => Promise<string>,
): Promise<string> {
  const { label, target, log, duration } = spec;
  const isBuilt = spec.isBuilt ?? isExecutable;
  const binDir = path.dirname(target);
  const name = path.basename(target);
  return withDirLock(
    path.join(binDir, `.${name}.lock`),
    async () => {
      if (await isBuilt(target)) return target; // another process built it while we waited
      log(`jetsaga: building ${label} (first run only, ${duration})...`);
      const outDir = await mkdtemp(path.join(binDir, `.${name}.build-`));
      try {
        await publish(await build(outDir), target, isBuilt);
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
      log(`jetsaga: built ${label}`);
      return target;
    },
    { onWait: () => log(`jetsaga: waiting for another process to finish building ${label}...`) },
  );
}

/**
 * rename(2) replaces a file atomically, but not a non-empty directory (ENOTEMPTY / EEXIST). Then either
 * another builder won the race (its complete build stays: a server may be running from it), or an
 * incomplete leftover sits there, which is removed.
 */
async function publish(built: string, target: string, isBuilt: (target: string) => Promise<boolean>) {
  try {
    await rename(built, target);
  } catch (err) {
    if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
    if (await isBuilt(target)) return;
    await rm(target, { recursive: true, force: true });
    await rename(built, target);
  }
}

async function requireGo(env: NodeJS.ProcessEnv, label: string, alternatives: string): Promise<string> {
  const fix = `Fix: install Go >= 1.22 (https://go.dev/dl/) and retry, ${alternatives}.`;
  const go = await findOnPath('go', env);
  if (!go) throw new Error(`jetsaga: cannot build ${label}: the Go toolchain ('go') is not on PATH. ${fix}`);
  const { stdout } = await run(go, ['version'], { env });
  const version = parseVersion(stdout); // "go version go1.26.8 linux/amd64"
  if (!version || !versionAtLeast(version, MIN_GO)) {
    throw new Error(
      `jetsaga: cannot build ${label}: ${stdout.trim() || 'unknown Go version'} is too old. ${fix}`,
    );
  }
  return go;
}

/**
 * The java launcher: $JAVA_HOME/bin/java when set (as Maven does), else `java` on PATH; version >= 17.
 * Needed to run mongo-java-server, so checked even when the build is cached.
 */
async function requireJava(env: NodeJS.ProcessEnv, label: string, fix: string): Promise<string> {
  const fromHome = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = fromHome && (await isExecutable(fromHome)) ? fromHome : await findOnPath('java', env);
  if (!java) throw new Error(`jetsaga: cannot run ${label}: no Java runtime ('java' is not on PATH). ${fix}`);
  const result = await run(java, ['-version'], { env }).catch((err: unknown) => ({
    code: null,
    stdout: '',
    stderr: String(err),
  }));
  const text = `${result.stdout}\n${result.stderr}`; // java -version writes to stderr
  const major = javaMajorVersion(text);
  if (major === undefined || major < MIN_JAVA) {
    const lines = text.split('\n').map((line) => line.trim());
    const found = lines.find((line) => line.includes('version')) ?? lines.find((line) => line !== '');
    throw new Error(
      `jetsaga: cannot run ${label}: ${java} is ${found || 'of unknown version'}, need Java >= ${MIN_JAVA}. ${fix}`,
    );
  }
  return java;
}

/** javac from the same JDK as `java` (falling back to PATH), and mvn; only needed for the first build. */
async function requireJdkAndMaven(
  env: NodeJS.ProcessEnv,
  java: string,
  label: string,
  fix: string,
): Promise<{ javac: string; mvn: string }> {
  // /usr/bin/java is usually a symlink chain into the JDK's bin directory, where javac sits too.
  const sibling = path.join(path.dirname(await realpath(java)), 'javac');
  const javac = (await isExecutable(sibling)) ? sibling : await findOnPath('javac', env);
  if (!javac) {
    throw new Error(
      `jetsaga: cannot build ${label}: no Java compiler ('javac' is not on PATH; a JRE is not enough). ${fix}`,
    );
  }
  const version = await run(javac, ['-version'], { env });
  const major = javaMajorVersion(`${version.stdout}\n${version.stderr}`); // "javac 17.0.15"
  if (major === undefined || major < MIN_JAVA) {
    throw new Error(
      `jetsaga: cannot build ${label}: ${javac} is ${(version.stdout || version.stderr).trim() || 'unknown version'}, need JDK >= ${MIN_JAVA}. ${fix}`,
    );
  }
  const mvn = await findOnPath('mvn', env);
  if (!mvn) throw new Error(`jetsaga: cannot build ${label}: Maven ('mvn') is not on PATH. ${fix}`);
  return { javac, mvn };
}

/**
 * The Java feature release in `java -version` / `javac -version` output: 'version "17.0.15"' -> 17,
 * 'version "21" 2023-09-19' -> 21, 'version "1.8.0_392"' -> 8, 'javac 17.0.15' -> 17.
 */
export function javaMajorVersion(text: string): number | undefined {
  const match = /(?:version "|javac )(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function runTool(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; label: string },
): Promise<void> {
  const result = await run(command, args, { cwd: opts.cwd, env: opts.env });
  if (result.code !== 0) {
    const commandLine = [path.basename(command), ...args].join(' ');
    throw new Error(
      `jetsaga: building ${opts.label} failed (${commandLine}, exit code ${result.code}):\n` +
        tailLines(`${result.stdout}\n${result.stderr}`),
    );
  }
}
