// NATS server configs are checked by nats-server itself (`-t`: parse, validate, exit), with the pinned
// binary the tests use, and production ones must fsync every write, authenticate every client with the
// generated users and speak TLS to them (nats-auth.ts).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, run } from '../../runtime/dev/exec.ts';
import type { Finding } from './findings.ts';
import { envReferencesOf, includesOf, NATS_ACCOUNTS_KEY, natsSecurityFindings } from './nats-auth.ts';
import type { Located } from './render.ts';

export interface NatsConfigSource {
  file: string;
  object?: string;
  field?: string;
  text: string;
  /** The files beside it (same ConfigMap or directory), by name: what its `include`s read. */
  siblings?: Record<string, string>;
}

/**
 * NATS configs in rendered ConfigMaps: every `*.conf` key of a `nats*` ConfigMap that no other key
 * includes (an included file is checked as part of the config that includes it).
 */
export function natsConfigsOf(objects: Located[]): NatsConfigSource[] {
  return objects
    .filter((o) => o.obj.kind === 'ConfigMap' && /^nats/.test(o.obj.metadata.name))
    .flatMap((o) => {
      const data = (o.obj.data ?? {}) as Record<string, string>;
      const included = new Set(
        Object.values(data).flatMap((text) => includesOf(text).map((f) => path.basename(f))),
      );
      return (
        Object.entries(data)
          // The generated users are a fragment: checked with the config that includes it (a config that
          // does not is reported for having no users).
          .filter(([key]) => key.endsWith('.conf') && !included.has(key) && key !== NATS_ACCOUNTS_KEY)
          .map(([key, text]) => ({
            file: o.file,
            object: `ConfigMap/${o.obj.metadata.name}`,
            field: `data.${key}`,
            text,
            siblings: data,
          }))
      );
    });
}

/** A config file of the repository, with the `*.conf` files of its directory as siblings. */
export async function natsConfigFile(root: string, file: string): Promise<NatsConfigSource> {
  const dir = path.join(root, path.dirname(file));
  const siblings: Record<string, string> = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.conf')))
    siblings[name] = await readFile(path.join(dir, name), 'utf8');
  return { file, text: await readFile(path.join(root, file), 'utf8'), siblings };
}

export async function checkNatsConfig(
  natsServer: string,
  source: NatsConfigSource,
  opts: { production: boolean; namespace?: string },
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const where = { file: source.file, object: source.object, field: source.field };
  const siblings = source.siblings ?? {};
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-nats-conf-'));
  try {
    for (const [name, text] of Object.entries(siblings)) await writeFile(path.join(tmp, name), text);
    const conf = path.join(tmp, path.basename(source.field?.replace(/^data\./, '') ?? source.file));
    await writeFile(conf, await withTestCertificates(source.text, tmp));
    // What the server reads from its environment (the StatefulSet's POD_NAME, passwords from a Secret)
    // gets a stand-in: the check is about the config, not about the values.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const text of [source.text, ...Object.values(siblings)])
      for (const name of envReferencesOf(text)) env[name] = `stand-in-${name.toLowerCase()}`;
    env.POD_NAME = 'nats-0';
    const result = await run(natsServer, ['-t', '-c', conf], { env });
    if (result.code !== 0) {
      const reason = `${result.stderr}${result.stdout}`.trim().replaceAll(`${tmp}${path.sep}`, '');
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
  findings.push(...natsSecurityFindings(where, source.text, siblings, opts));
  return findings;
}

const certSetting = /\b(cert_file|key_file|ca_file)(\s*[:=]?\s*)("[^"]*"|'[^']*'|[^\s,}#]+)/g;

/**
 * `nats-server -t` loads the certificates a `tls` block names, which live in a Secret at run time: the
 * check points them at a throwaway self-signed pair made with openssl.
 */
async function withTestCertificates(text: string, dir: string): Promise<string> {
  if (!certSetting.test(text)) return text;
  certSetting.lastIndex = 0;
  const openssl = await findOnPath('openssl', process.env);
  if (!openssl) throw new Error('checking a NATS config with a tls block needs openssl on PATH');
  const cert = path.join(dir, 'test-tls.crt');
  const key = path.join(dir, 'test-tls.key');
  const made = await run(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=deploy-check',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  if (made.code !== 0) throw new Error(`openssl could not make a test certificate: ${made.stderr.trim()}`);
  return text.replace(
    certSetting,
    (_m, name: string, sep: string) => `${name}${sep}${JSON.stringify(name === 'key_file' ? key : cert)}`,
  );
}
