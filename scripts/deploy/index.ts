// deploy:check as a function: every overlay rendered and validated, the Compose file, the NATS configs and
// the Dockerfile; a list of findings, empty when all is well.
import path from 'node:path';
import { ensureNatsServer } from '../../runtime/dev/index.ts';
import { composeFindings } from './compose.ts';
import { dockerfileFindings } from './dockerfile.ts';
import { type Finding, formatFinding } from './findings.ts';
import { podMonitorFindings, policyFindings, schemaFindings } from './kubernetes.ts';
import { checkNatsConfig, natsConfigFile, natsConfigsOf } from './nats-config.ts';
import { examplesOf, overlaysOf, renderOverlay } from './render.ts';
import { k8sSecurityFindings } from './security.ts';
import { ensureComposeCheck, ensureKustomize } from './tools.ts';

export { type Finding, formatFinding } from './findings.ts';
export { ensureComposeCheck, ensureKustomize, KUSTOMIZE_VERSION } from './tools.ts';

export interface DeployCheckOptions {
  /** The repository (or a copy of its deploy files) to check. */
  root: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface DeployCheckReport {
  findings: Finding[];
  /** What was checked, for the summary line: overlay -> object count. */
  overlays: Record<string, number>;
  composeServices: boolean;
}

const K8S_DIR = 'deploy/k8s';
const COMPOSE_FILE = 'docker-compose.yml';
const DOCKERFILE = 'deploy/Dockerfile';
const ENTRY = 'bin/jetsaga.ts';
const COMPOSE_NATS_CONFIG = 'deploy/nats/nats.conf';

export async function checkDeploy(opts: DeployCheckOptions): Promise<DeployCheckReport> {
  const tools = { ...(opts.env ? { env: opts.env } : {}), ...(opts.log ? { log: opts.log } : {}) };
  const [kustomize, composeCheck, natsServer] = await Promise.all([
    ensureKustomize(tools),
    ensureComposeCheck(tools),
    ensureNatsServer(tools),
  ]);
  const findings: Finding[] = [];
  const overlays: Record<string, number> = {};
  for (const overlay of await overlaysOf(opts.root, K8S_DIR)) {
    const dir = path.join(K8S_DIR, 'overlays', overlay);
    const rendered = await renderOverlay(kustomize, opts.root, K8S_DIR, overlay);
    if (!rendered.ok) {
      findings.push({
        file: path.join(dir, 'kustomization.yaml'),
        message: `kustomize build failed: ${rendered.error}`,
      });
      continue;
    }
    overlays[overlay] = rendered.objects.length;
    const examples = await examplesOf(opts.root, dir);
    for (const located of [...rendered.objects, ...examples])
      findings.push(...(await schemaFindings(located)));
    findings.push(...policyFindings(overlay, rendered.objects, examples));
    findings.push(...k8sSecurityFindings(overlay, rendered.objects, examples));
    for (const conf of natsConfigsOf(rendered.objects))
      findings.push(...(await checkNatsConfig(natsServer, conf, { production: overlay === 'prod' })));
    // Optional components (deploy/k8s/components/*): each must build into this overlay; what it adds is
    // validated, and a PodMonitor must scrape the ops port of every role.
    for (const component of await overlaysOf(opts.root, K8S_DIR, 'components')) {
      const own = path.join(K8S_DIR, 'components', component);
      const with_ = await renderOverlay(kustomize, opts.root, K8S_DIR, overlay, [component]);
      if (!with_.ok) {
        findings.push({
          file: path.join(own, 'kustomization.yaml'),
          message: `kustomize build of overlay ${overlay} with this component failed: ${with_.error}`,
        });
        continue;
      }
      const added = with_.objects.filter((o) => o.file.startsWith(`${own}/`));
      for (const located of added) findings.push(...(await schemaFindings(located)));
      findings.push(...podMonitorFindings(with_.objects, added));
    }
  }
  findings.push(...(await composeFindings(composeCheck, opts.root, COMPOSE_FILE)));
  findings.push(
    ...(await checkNatsConfig(natsServer, await natsConfigFile(opts.root, COMPOSE_NATS_CONFIG), {
      production: false,
    })),
  );
  findings.push(...(await dockerfileFindings(opts.root, DOCKERFILE, ENTRY)));
  // One rule broken by a shared file (a ConfigMap every role reads) is one finding, not one per role.
  const unique = new Map(findings.map((f) => [formatFinding(f), f]));
  return { findings: [...unique.values()], overlays, composeServices: true };
}
