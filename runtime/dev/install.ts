// `npm run infra:install` (also npm `pretest`): makes sure the local-mode binaries exist before the test
// run, so the first builds (~2 minutes for nats-server) happen once, visibly, rather than inside a test's
// timeout.
// A server given by URL needs no binary, so each one is skipped when its URL is set.
import {
  binaryVersion,
  ensureMongoWireServer,
  ensureNatsServer,
  defaultLog as log,
  MONGO_JAVA_SERVER_VERSION,
} from './binaries.ts';

async function main(): Promise<void> {
  const env = process.env;
  const tasks: Promise<void>[] = [];
  if (env.NATS_URL?.trim()) {
    log('jetsaga: NATS_URL is set, skipping nats-server');
  } else {
    tasks.push(
      (async () => {
        // JETSAGA_NATS_SERVER or PATH may supply another version than the pinned build: report the real one.
        const bin = await ensureNatsServer({ env, log });
        log(`jetsaga: nats-server ${(await binaryVersion(bin)) ?? 'unknown version'} ready (${bin})`);
      })(),
    );
  }
  if (env.MONGO_URL?.trim()) {
    log('jetsaga: MONGO_URL is set, skipping the MongoDB-wire server');
  } else {
    tasks.push(
      (async () => {
        const server = await ensureMongoWireServer({ env, log });
        const what =
          server.kind === 'mongo-java-server'
            ? `mongo-java-server ${MONGO_JAVA_SERVER_VERSION}`
            : `mongod ${(await binaryVersion(server.path)) ?? 'unknown version'}`;
        log(`jetsaga: ${what} ready (${server.path})`);
      })(),
    );
  }
  const results = await Promise.allSettled(tasks);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  for (const reason of failures) log(reason instanceof Error ? reason.message : String(reason));
  if (failures.length > 0) process.exitCode = 1;
}

await main();
