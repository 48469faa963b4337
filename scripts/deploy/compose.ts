// docker-compose.yml: loaded by compose-check (compose-go: YAML, merges, interpolation, the Compose schema),
// then jetsaga's rules over the resolved project.
import path from 'node:path';
import { run } from '../../runtime/dev/exec.ts';
import referenceApp from '../../app.ts';
import {
  containerRoles,
  reactorRoles,
  defaultShutdownTimeoutMs,
  type Finding,
  invalidConfig,
  isJetsagaImage,
  knownEnvVars,
  mongoDurability,
  OPS_PORT_DEFAULT,
  opsPaths,
  pinnedVersions,
  repositoryOf,
  tagOf,
  unknownEnvVar,
  unpinnedImage,
} from './findings.ts';
import { composeSecurityFindings } from './security.ts';

const { participants } = referenceApp;

interface ComposeService {
  image?: string;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  stop_grace_period?: string;
  ports?: Array<{ target: number; published?: string }>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { disable?: boolean; test?: string[] };
  restart?: string;
}

export async function composeFindings(composeCheck: string, root: string, file: string): Promise<Finding[]> {
  const result = await run(composeCheck, [path.join(root, file)]);
  if (result.code !== 0) {
    const reason = result.stderr
      .trim()
      .replaceAll(path.join(root, file), file)
      .replace(/^validating [^:]+: /, '')
      .replace(/ false schema$/gm, ' is not a Compose property');
    return [{ file, message: `invalid Compose file: ${reason}` }];
  }
  const project = JSON.parse(result.stdout) as { services?: Record<string, ComposeService> };
  const findings: Finding[] = [];
  const roles = new Map<string, number>();
  for (const [name, svc] of Object.entries(project.services ?? {})) {
    const add = (field: string, message: string) =>
      findings.push({ file, object: `services.${name}`, field, message });
    const image = svc.image ?? '';
    const unpinned = image ? unpinnedImage(image) : 'no image';
    if (unpinned) add('image', unpinned);
    if (repositoryOf(image) === 'nats' && !tagOf(image).startsWith(pinnedVersions.nats))
      add('image', `NATS ${tagOf(image)} is not the version tested (${pinnedVersions.nats}, runtime/dev)`);
    if (repositoryOf(image) === 'mongo' && !tagOf(image).startsWith(pinnedVersions.mongo))
      add(
        'image',
        `MongoDB ${tagOf(image)} is not the version tested (${pinnedVersions.mongo}, runtime/dev)`,
      );
    if (!isJetsagaImage(image)) continue;

    const env = svc.environment ?? {};
    for (const key of Object.keys(env))
      if (!knownEnvVars.has(key)) add(`environment.${key}`, unknownEnvVar(key));
    const invalid = invalidConfig(env);
    if (invalid) add('environment', invalid);
    const [role, arg] = svc.command ?? [];
    if (!role || !containerRoles.includes(role)) {
      add('command', `"${role ?? ''}" is not a jetsaga role (${containerRoles.join(', ')})`);
      continue;
    }
    const key = role === 'service' ? `service ${arg ?? ''}` : role;
    if (role === 'service' && !participants[arg ?? ''])
      add('command', `"${arg ?? ''}" is not a participant (${Object.keys(participants).join(', ')})`);
    roles.set(key, (roles.get(key) ?? 0) + (svc.deploy?.replicas ?? 1));
    const shutdownMs = Number(env.JETSAGA_SHUTDOWN_TIMEOUT_MS ?? defaultShutdownTimeoutMs);
    if (seconds(svc.stop_grace_period ?? '10s') * 1000 <= shutdownMs)
      add('stop_grace_period', `must exceed JETSAGA_SHUTDOWN_TIMEOUT_MS (${shutdownMs} ms)`);
    if (env.MONGO_URL) {
      const weak = mongoDurability(env.MONGO_URL);
      if (weak) add('environment.MONGO_URL', weak);
    }
    for (const dep of Object.keys(svc.depends_on ?? {})) {
      const condition = svc.depends_on?.[dep]?.condition;
      // A one-shot (`jetsaga provision`) is waited for until it has done its work; servers until healthy.
      const oneShot = project.services?.[dep]?.command?.[0] === 'provision';
      if (oneShot && condition !== 'service_completed_successfully')
        add(
          `depends_on.${dep}`,
          'wait for `condition: service_completed_successfully`: it runs once and exits',
        );
      else if (!oneShot && condition !== 'service_healthy')
        add(
          `depends_on.${dep}`,
          'wait for `condition: service_healthy`, or roles start before NATS / MongoDB answer',
        );
    }
    if (role === 'provision') {
      if (svc.restart !== undefined && svc.restart !== 'no' && svc.restart !== 'on-failure')
        add(
          'restart',
          `"${svc.restart}" would run \`jetsaga provision\` again and again: use "no" or "on-failure"`,
        );
      continue;
    }
    if (role === 'api') {
      if (env.JETSAGA_HTTP_HOST !== '0.0.0.0')
        add('environment.JETSAGA_HTTP_HOST', 'must be 0.0.0.0 in a container');
      if (!(svc.ports ?? []).some((p) => p.target === Number(env.JETSAGA_HTTP_PORT ?? 8080)))
        add('ports', 'the API port (JETSAGA_HTTP_PORT) must be published');
    }
    // Every role serves its ops endpoint; Compose learns it is alive from /healthz there.
    const opsPort = Number(env.JETSAGA_OPS_PORT ?? OPS_PORT_DEFAULT);
    if (env.JETSAGA_OPS_HOST !== '0.0.0.0' && env.JETSAGA_OPS_HOST !== '::')
      add('environment.JETSAGA_OPS_HOST', 'must be 0.0.0.0 in a container (the ops endpoint)');
    const test = (svc.healthcheck?.test ?? []).join(' ');
    if (!svc.healthcheck || svc.healthcheck.disable || test === '' || test === 'NONE')
      add(
        'healthcheck',
        `\`jetsaga ${key}\` has no healthcheck: ask ${opsPaths.liveness} on its ops port (${opsPort}, JETSAGA_OPS_PORT)`,
      );
    else if (!test.includes(`:${opsPort}/healthz`) && !test.includes('JETSAGA_OPS_PORT'))
      add(
        'healthcheck',
        `\`jetsaga ${key}\`: the healthcheck must ask ${opsPaths.liveness} on the ops port (${opsPort}, JETSAGA_OPS_PORT)`,
      );
  }
  for (const wanted of [
    'api',
    'orchestrator',
    ...reactorRoles,
    ...Object.keys(participants).map((p) => `service ${p}`),
  ])
    if (!roles.has(wanted)) findings.push({ file, message: `no service runs \`jetsaga ${wanted}\`` });
  findings.push(...composeSecurityFindings(file, project.services ?? {}));
  if ((roles.get('orchestrator') ?? 0) < 2)
    findings.push({
      file,
      message: 'run at least 2 orchestrator replicas (deploy.replicas), to show and keep scale-out',
    });
  return findings;
}

/** Compose durations: "30s", "1m30s", "500ms". */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(n) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[unit!]!;
  }
  return total;
}
