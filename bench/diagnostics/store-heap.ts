// A full collection of the local mongo-java-server's heap before the raw store figures.
//
// The local store collects its young generation rarely (runtime/dev/binaries.ts,
// `storeHeapOptions`), and each of those collections stops the server for tens to hundreds of ms
// to scan what the writes before it left in the old generation. Right after an end-to-end level
// that debt is the levels' own: paid inside a 3 s raw window (140-250 ms in a GC log, bench/
// JOURNAL.md, thirteenth pass) it would lower the raw store figure by 5-8 %, and so raise the
// efficiency. A full collection first (`jcmd <pid> GC.run`) leaves the raw windows a heap with
// nothing owed: the bound is the store at its best.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Infra } from '../../runtime/dev/index.ts';
import { isExecutable, run } from '../../runtime/dev/exec.ts';

/** A function that collects the local store's heap, or undefined when the store is not a local JVM. */
export async function storeHeapCollector(
  infra: Pick<Infra, 'mongoKind' | 'mongo'>,
  say: (line: string) => void,
): Promise<(() => Promise<void>) | undefined> {
  const store = infra.mongo;
  if (infra.mongoKind !== 'mongo-java-server' || store === undefined) return undefined;
  // The JDK's own jcmd, beside the java the store was started with.
  const jcmd = path.join(path.dirname(await realpath(store.command)), 'jcmd');
  if (!(await isExecutable(jcmd))) {
    say(`  (no ${jcmd}: the store's heap is not collected before its raw figures)`);
    return undefined;
  }
  return async () => {
    const pid = store.pid;
    if (pid === undefined) return;
    const t0 = performance.now();
    const res = await run(jcmd, [String(pid), 'GC.run']);
    if (res.code !== 0) {
      say(`  store heap not collected: jcmd exited ${res.code}: ${(res.stderr || res.stdout).trim()}`);
      return;
    }
    say(`  store heap collected (jcmd GC.run) in ${Math.round(performance.now() - t0)} ms`);
  };
}
