// What deploy:check reports, and the facts about jetsaga its rules share.
import referenceApp from '../../app.ts';
import { configEnvVars, loadConfig } from '../../runtime/config.ts';
import { MONGO_IMAGE, NATS_IMAGE } from '../../runtime/dev/index.ts';

/** One problem: the file to edit, the object in it (Kubernetes), the field, and what is wrong. */
export interface Finding {
  file: string;
  object?: string;
  field?: string;
  message: string;
}

export function formatFinding(f: Finding): string {
  return [f.file, f.object, f.field].filter(Boolean).join(': ') + `: ${f.message}`;
}

export const knownEnvVars: ReadonlySet<string> = new Set(configEnvVars);

/** The reference app's reactors, each a role of its own (`jetsaga <name>`): fraud-agent, notifications, ... */
export const reactorRoles: readonly string[] = Object.keys(referenceApp.reactors);

/**
 * `jetsaga <role>` as containers run it; `service` takes a participant name; a reactor runs by its
 * name; `provision` runs once.
 */
export const containerRoles: readonly string[] = [
  'api',
  'orchestrator',
  'service',
  ...reactorRoles,
  'all',
  'provision',
];

export const defaultShutdownTimeoutMs = 20_000;

/** The ops endpoint every role serves (JETSAGA_OPS_PORT; 9464 in the image and the manifests). */
export const OPS_PORT_DEFAULT = 9464;
export const opsPaths = { liveness: '/healthz', readiness: '/readyz', metrics: '/metrics' } as const;

export function unknownEnvVar(name: string): string {
  return `${name} is not a jetsaga setting (known: ${[...knownEnvVars].join(', ')}); see \`jetsaga help\``;
}

/** "nats:2.12.1" -> "2.12.1": manifests must run the server versions the tests run against. */
export const pinnedVersions = { nats: tagOf(NATS_IMAGE), mongo: tagOf(MONGO_IMAGE) };

export function tagOf(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : '';
}

export function repositoryOf(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Why an image reference is not pinned, or undefined when it is (a version tag or a digest). */
export function unpinnedImage(image: string): string | undefined {
  if (image.includes('@sha256:')) return undefined;
  const tag = tagOf(image);
  if (!tag) return `image "${image}" has no tag: pin a version`;
  if (tag === 'latest') return `image "${image}" uses "latest": pin a version`;
  return undefined;
}

export function isJetsagaImage(image: string): boolean {
  const repo = repositoryOf(image);
  return repo === 'jetsaga' || repo.endsWith('/jetsaga');
}

/** Write concern majority with journaling: an acknowledged write survives a failover and a crash. */
export function mongoDurability(url: string): string | undefined {
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  const missing = [
    query.get('w') === 'majority' ? undefined : 'w=majority',
    query.get('journal') === 'true' ? undefined : 'journal=true',
  ].filter(Boolean);
  return missing.length
    ? `MONGO_URL lacks ${missing.join(' and ')}: without them an acknowledged saga step can be lost on a failover or crash`
    : undefined;
}

/** The config schema's own verdict on the values a container gets (as the role would report at start). */
export function invalidConfig(
  env: ReadonlyMap<string, string> | Record<string, string | null | undefined>,
): string | undefined {
  const entries = env instanceof Map ? [...env] : Object.entries(env);
  const vars = Object.fromEntries(
    entries.filter(([, v]) => typeof v === 'string') as Array<[string, string]>,
  );
  try {
    loadConfig([], vars);
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
  }
}
