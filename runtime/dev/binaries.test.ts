import { afterEach, describe, expect, it } from 'vitest';
import { ensureMongoWireServer, mongoJavaServerArgs, storeHeapOptions } from './binaries.ts';
import { run } from './exec.ts';
const opts = { host: '127.0.0.1', port: 27999, storeDir: '/tmp/x' };

/** The JVM options of a store command line: everything before the class path. */
const jvmOptions = (args: string[]): string[] => args.slice(0, args.indexOf('-cp'));

/** The heap sizes the JVM settles on for these options (bytes), from -XX:+PrintFlagsFinal. */
async function heapFlags(java: string, options: string[]): Promise<Record<string, number>> {
  const { code, stdout, stderr } = await run(java, [...options, '-XX:+PrintFlagsFinal', '-version']);
  if (code !== 0) throw new Error(`java exited ${code}: ${stderr.trim()}`);
  const flags: Record<string, number> = {};
  for (const name of ['InitialHeapSize', 'MaxHeapSize', 'NewSize', 'MaxNewSize']) {
    const m = new RegExp(`\\s${name}\\s+=\\s+(\\d+)`).exec(stdout);
    if (!m) throw new Error(`${name} missing from -XX:+PrintFlagsFinal`);
    flags[name] = Number(m[1]);
  }
  return flags;
}

describe('the local store command line', () => {
  const saved = process.env.JETSAGA_STORE_JAVA_OPTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.JETSAGA_STORE_JAVA_OPTS;
    else process.env.JETSAGA_STORE_JAVA_OPTS = saved;
  });

  it('runs the parallel collector with the large young generation, and lets JETSAGA_STORE_JAVA_OPTS override both', () => {
    delete process.env.JETSAGA_STORE_JAVA_OPTS;
    const plain = jvmOptions(mongoJavaServerArgs('/build', opts));
    expect(plain).toContain('-XX:+UseParallelGC');
    for (const o of storeHeapOptions) expect(plain).toContain(o);

    process.env.JETSAGA_STORE_JAVA_OPTS = '-XX:+UseSerialGC -Xmn512m';
    const custom = jvmOptions(mongoJavaServerArgs('/build', opts));
    expect(custom).not.toContain('-XX:+UseParallelGC');
    // The JVM takes the last of conflicting size options: the user's come after ours.
    expect(custom.indexOf('-Xmn512m')).toBeGreaterThan(custom.indexOf(storeHeapOptions.at(-1)!));
  });

  it('gives the JVM a young generation larger than its default, at most 2 GB, within the maximum heap', async (ctx) => {
    const server = await ensureMongoWireServer({ log: () => {} });
    if (server.kind !== 'mongo-java-server') return ctx.skip('mongod on PATH: no JVM to size');
    delete process.env.JETSAGA_STORE_JAVA_OPTS;
    const ours = await heapFlags(server.java, jvmOptions(mongoJavaServerArgs(server.path, opts)));
    const defaults = await heapFlags(server.java, ['-XX:+UseParallelGC']);
    expect(ours.NewSize).toBeGreaterThan(defaults.NewSize!);
    expect(ours.MaxNewSize).toBeLessThanOrEqual(2 * 1024 ** 3);
    // Half of the initial heap is young (NewRatio=1) up to the cap, and the maximum is the JVM's own.
    const young = Math.min(ours.InitialHeapSize! / 2, ours.MaxNewSize!);
    expect(Math.abs(ours.NewSize! - young)).toBeLessThan(64 * 1024 ** 2);
    expect(ours.InitialHeapSize).toBeLessThanOrEqual(ours.MaxHeapSize!);
    expect(ours.MaxHeapSize).toBe(defaults.MaxHeapSize);
  }, 120_000);
});
