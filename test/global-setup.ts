import type { TestProject } from 'vitest/node';
import { type Infra, resolveInfra } from '../runtime/dev/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    mongoUrl: string;
  }
}

let infra: Infra | undefined;

/** One NATS and one MongoDB-wire server for the whole run (NATS_URL / MONGO_URL win). */
export async function setup(project: TestProject): Promise<void> {
  infra = await resolveInfra({ log: (line) => process.stderr.write(`${line}\n`) });
  // One line saying what the suite runs on: the Node of npm's scripts, not the machine's.
  process.stderr.write(`jetsaga tests: Node ${process.version}, ${infra.describe()}\n`);
  project.provide('natsUrl', infra.natsUrl);
  project.provide('mongoUrl', infra.mongoUrl);
}

export async function teardown(): Promise<void> {
  await infra?.stop();
}
