// NATS server configs are checked by nats-server itself (`-t`: parse, validate, exit), with the pinned
// binary the tests use, and production ones must fsync every write.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../runtime/dev/exec.ts';
import type { Finding } from './findings.ts';
import type { Located } from './render.ts';

export interface NatsConfigSource {
  file: string;
  object?: string;
  field?: string;
  text: string;
}

/** NATS configs in rendered ConfigMaps: every `*.conf` key of a ConfigMap mounted by a nats container. */
export function natsConfigsOf(objects: Located[]): NatsConfigSource[] {
  return objects
    .filter((o) => o.obj.kind === 'ConfigMap' && /^nats/.test(o.obj.metadata.name))
    .flatMap((o) =>
      Object.entries((o.obj.data ?? {}) as Record<string, string>)
        .filter(([key]) => key.endsWith('.conf'))
        .map(([key, text]) => ({
          file: o.file,
          object: `ConfigMap/${o.obj.metadata.name}`,
          field: `data.${key}`,
          text,
        })),
    );
}

export async function natsConfigFile(root: string, file: string): Promise<NatsConfigSource> {
  return { file, text: await readFile(path.join(root, file), 'utf8') };
}

export async function checkNatsConfig(
  natsServer: string,
  source: NatsConfigSource,
  opts: { production: boolean },
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const where = { file: source.file, object: source.object, field: source.field };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-nats-conf-'));
  try {
    const conf = path.join(tmp, 'nats.conf');
    await writeFile(conf, source.text);
    // POD_NAME is what the StatefulSet injects for `server_name: $POD_NAME`.
    const result = await run(natsServer, ['-t', '-c', conf], { env: { ...process.env, POD_NAME: 'nats-0' } });
    if (result.code !== 0) {
      const reason = `${result.stderr}${result.stdout}`.trim().replaceAll(conf, 'nats.conf');
      findings.push({ ...where, message: `nats-server rejects it: ${reason}` });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (opts.production && !/^\s*sync_interval\s*[:=]?\s*always\b/m.test(source.text))
    findings.push({
      ...where,
      message:
        'production JetStream must set `sync_interval: always` (with the default 2-minute fsync, acknowledged writes can be lost)',
    });
  return findings;
}
