// Checks of the rendered Kubernetes objects: each against its Kubernetes schema (kubernetes-models, which
// ships the API's OpenAPI schemas compiled, so nothing is fetched), then jetsaga's own rules: pinned images,
// known settings, probes, resources, non-root, references that resolve, durability in production.
import referenceApp from '../../app.ts';
import {
  containerRoles,
  defaultShutdownTimeoutMs,
  type Finding,
  invalidConfig,
  isJetsagaImage,
  knownEnvVars,
  mongoDurability,
  pinnedVersions,
  repositoryOf,
  tagOf,
  unknownEnvVar,
  unpinnedImage,
} from './findings.ts';
import type { K8sObject, Located } from './render.ts';

const { participants } = referenceApp;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
}
export interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
  };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean };
  terminationGracePeriodSeconds?: number;
  volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
}
export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

type ModelClass = new (data: unknown) => { validate(): void };
interface SchemaError {
  instancePath: string;
  message?: string;
}

/** Validates one object against the Kubernetes schema of its apiVersion and kind. */
export async function schemaFindings({ obj, file }: Located): Promise<Finding[]> {
  const object = `${obj.kind}/${obj.metadata?.name ?? '(no name)'}`;
  const apiVersion = String(obj.apiVersion ?? '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let Model: ModelClass | undefined;
  try {
    Model = ((await import(module)) as Record<string, ModelClass>)[obj.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) {
    return [
      { file, object, field: 'apiVersion', message: `unknown apiVersion/kind ${apiVersion}/${obj.kind}` },
    ];
  }
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: SchemaError[] }).errors;
    if (!errors) return [{ file, object, message: String(err) }];
    const byField = new Map<string, string[]>();
    for (const e of errors) {
      const field = fieldPath(e.instancePath);
      if (!byField.has(field)) byField.set(field, []);
      if (e.message && !byField.get(field)!.includes(e.message)) byField.get(field)!.push(e.message);
    }
    return [...byField].map(([field, messages]) => ({
      file,
      object,
      field,
      message: `${messages.join('; ')} (Kubernetes schema)`,
    }));
  }
}

/** "/spec/template/spec/containers/0/image" -> "spec.template.spec.containers[0].image" */
export function fieldPath(pointer: string): string {
  return (
    pointer
      .split('/')
      .filter(Boolean)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '') ||
    '(root)'
  );
}

/** jetsaga's rules over one rendered overlay (plus the out-of-band objects its examples document). */
export function policyFindings(overlay: string, objects: Located[], examples: Located[]): Finding[] {
  const findings: Finding[] = [];
  const all = [...objects, ...examples];
  const find = (kind: string, name: string) =>
    all.find((o) => o.obj.kind === kind && o.obj.metadata?.name === name);
  const workloads = workloadsOf(objects);
  const roles = new Set<string>();
  let streamReplicas: number | undefined;

  for (const { obj, file } of workloads) {
    const object = `${obj.kind}/${obj.metadata.name}`;
    const add = (field: string, message: string) => findings.push({ file, object, field, message });
    const pod = obj.spec?.template?.spec;
    if (!pod?.containers) continue; // the schema check reports it
    const labels = obj.spec.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(obj.spec.selector?.matchLabels ?? {}))
      if (labels[k] !== v) add('spec.selector.matchLabels', `${k}=${v} is not a label of the pod template`);

    const containers = [
      ...pod.containers.map((c, i) => ({ c, at: `spec.template.spec.containers[${i}]` })),
      ...(pod.initContainers ?? []).map((c, i) => ({ c, at: `spec.template.spec.initContainers[${i}]` })),
    ];
    for (const { c, at } of containers) {
      const problem = c.image ? unpinnedImage(c.image) : 'no image';
      if (problem) add(`${at}.image`, problem);
      for (const [probeName, probe] of Object.entries({
        livenessProbe: c.livenessProbe,
        readinessProbe: c.readinessProbe,
        startupProbe: c.startupProbe,
      })) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (typeof port === 'string' && !(c.ports ?? []).some((p) => p.name === port))
          add(`${at}.${probeName}`, `probes port "${port}", which the container does not declare`);
      }
      for (const v of pod.volumes ?? []) {
        if (v.configMap && !find('ConfigMap', v.configMap.name))
          add(`spec.template.spec.volumes.${v.name}`, `ConfigMap ${v.configMap.name} does not exist`);
      }
      if (
        c.image &&
        repositoryOf(c.image).endsWith('nats') &&
        !tagOf(c.image).startsWith(pinnedVersions.nats)
      )
        add(
          `${at}.image`,
          `NATS ${tagOf(c.image)} is not the version tested (${pinnedVersions.nats}, runtime/dev)`,
        );
      if (
        c.image &&
        repositoryOf(c.image).endsWith('mongo') &&
        !tagOf(c.image).startsWith(pinnedVersions.mongo)
      )
        add(
          `${at}.image`,
          `MongoDB ${tagOf(c.image)} is not the version tested (${pinnedVersions.mongo}, runtime/dev)`,
        );
      if (!c.image || !isJetsagaImage(c.image)) continue;

      // --- a jetsaga role ---
      const env = effectiveEnv(c, (name) => find('ConfigMap', name), findings, file, object, at);
      const role = c.args?.[0] ?? c.command?.[0];
      if (!role || !(containerRoles as readonly string[]).includes(role)) {
        add(`${at}.args`, `"${role ?? ''}" is not a jetsaga role (${containerRoles.join(', ')})`);
      } else if (role === 'service') {
        const name = c.args?.[1] ?? '';
        if (!participants[name])
          add(`${at}.args`, `"${name}" is not a participant (${Object.keys(participants).join(', ')})`);
        roles.add(`service ${name}`);
      } else roles.add(role);
      for (const kind of ['requests', 'limits'] as const)
        for (const resource of ['cpu', 'memory'])
          if (!c.resources?.[kind]?.[resource]) add(`${at}.resources.${kind}.${resource}`, 'must be set');
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot))
        add(`${at}.securityContext.runAsNonRoot`, 'must be true (here or in the pod securityContext)');
      if (sc.readOnlyRootFilesystem !== true)
        add(`${at}.securityContext.readOnlyRootFilesystem`, 'must be true');
      if (sc.allowPrivilegeEscalation !== false)
        add(`${at}.securityContext.allowPrivilegeEscalation`, 'must be false');
      const shutdownMs = Number(env.get('JETSAGA_SHUTDOWN_TIMEOUT_MS') ?? defaultShutdownTimeoutMs);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (grace * 1000 <= shutdownMs)
        add(
          'spec.template.spec.terminationGracePeriodSeconds',
          `${grace} s does not exceed JETSAGA_SHUTDOWN_TIMEOUT_MS (${shutdownMs} ms): pods would be killed mid-shutdown`,
        );
      const replicas = env.get('JETSAGA_STREAM_REPLICAS');
      if (replicas !== undefined) streamReplicas = Number(replicas);
      const mongoUrl = env.get('MONGO_URL');
      if (mongoUrl) {
        const weak = mongoDurability(mongoUrl);
        if (weak) add(`${at}.env.MONGO_URL`, weak);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const secret = find('Secret', ref.name);
        if (!secret) {
          add(
            `${at}.env.${e.name}`,
            `Secret ${ref.name} is neither rendered nor documented by a *.example.yaml`,
          );
          continue;
        }
        const value = secretValue(secret.obj, ref.key);
        if (value !== undefined) env.set(e.name, value);
        if (value === undefined) add(`${at}.env.${e.name}`, `Secret ${ref.name} has no key ${ref.key}`);
        else if (e.name === 'MONGO_URL') {
          const weak = mongoDurability(value);
          if (weak)
            findings.push({ file: secret.file, object: `Secret/${ref.name}`, field: ref.key, message: weak });
        }
      }
      const invalid = invalidConfig(env);
      if (invalid) add(`${at}.env`, invalid);
      if (role === 'api') {
        const port = Number(env.get('JETSAGA_HTTP_PORT') ?? 8080);
        const host = env.get('JETSAGA_HTTP_HOST');
        if (host !== undefined && host !== '0.0.0.0' && host !== '::')
          add(`${at}.env.JETSAGA_HTTP_HOST`, `"${host}" is not reachable from outside the pod: use 0.0.0.0`);
        const portOf = (p: number | string | undefined) =>
          typeof p === 'string' ? c.ports?.find((cp) => cp.name === p)?.containerPort : p;
        for (const [probeName, pathWanted] of [
          ['readinessProbe', '/readyz'],
          ['livenessProbe', '/healthz'],
        ] as const) {
          const probe = c[probeName]?.httpGet;
          if (!probe) add(`${at}.${probeName}`, `the api needs an httpGet ${probeName} on ${pathWanted}`);
          else if (probe.path !== pathWanted || portOf(probe.port) !== port)
            add(`${at}.${probeName}`, `must be GET ${pathWanted} on port ${port} (JETSAGA_HTTP_PORT)`);
        }
      }
    }
  }

  // Every role of the distribution runs somewhere.
  for (const wanted of [
    'api',
    'orchestrator',
    'fraud-agent',
    ...Object.keys(participants).map((p) => `service ${p}`),
  ]) {
    if (!roles.has(wanted))
      findings.push({
        file: `deploy/k8s/overlays/${overlay}`,
        message: `no Deployment runs \`jetsaga ${wanted}\``,
      });
  }

  for (const { obj, file } of objects) {
    const object = `${obj.kind}/${obj.metadata?.name}`;
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    if (obj.kind === 'Service') {
      const selector = spec.selector as Record<string, string> | undefined;
      if (selector && !workloads.some((w) => matches(selector, w.obj.spec.template.metadata?.labels)))
        findings.push({
          file,
          object,
          field: 'spec.selector',
          message: 'selects no pod of any workload here',
        });
    } else if (obj.kind === 'Ingress') {
      for (const [i, rule] of ((spec.rules ?? []) as Array<{ http?: { paths?: unknown[] } }>).entries()) {
        for (const [j, p] of (
          (rule.http?.paths ?? []) as Array<{
            backend?: { service?: { name: string; port?: { name?: string; number?: number } } };
          }>
        ).entries()) {
          const backend = p.backend?.service;
          if (!backend) continue;
          const svc = find('Service', backend.name)?.obj as
            { spec?: { ports?: Array<{ name?: string; port: number }> } } | undefined;
          const field = `spec.rules[${i}].http.paths[${j}].backend.service`;
          if (!svc) findings.push({ file, object, field, message: `Service ${backend.name} does not exist` });
          else if (
            !(svc.spec?.ports ?? []).some(
              (sp) => sp.name === backend.port?.name || sp.port === backend.port?.number,
            )
          )
            findings.push({ file, object, field, message: `Service ${backend.name} has no such port` });
        }
      }
    } else if (obj.kind === 'HorizontalPodAutoscaler') {
      const target = spec.scaleTargetRef as { kind: string; name: string } | undefined;
      if (target && !find(target.kind, target.name))
        findings.push({
          file,
          object,
          field: 'spec.scaleTargetRef',
          message: `${target.kind}/${target.name} does not exist`,
        });
    } else if (obj.kind === 'PodDisruptionBudget') {
      const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
      if (selector && !workloads.some((w) => matches(selector, w.obj.spec.template.metadata?.labels)))
        findings.push({
          file,
          object,
          field: 'spec.selector',
          message: 'selects no pod of any workload here',
        });
    }
  }

  // Streams cannot have more replicas than there are NATS servers.
  const nats = workloads.find((w) => w.obj.kind === 'StatefulSet' && w.obj.metadata.name === 'nats');
  if (streamReplicas !== undefined && nats && streamReplicas > (nats.obj.spec.replicas ?? 1)) {
    findings.push({
      file: nats.file,
      object: 'StatefulSet/nats',
      field: 'spec.replicas',
      message: `${nats.obj.spec.replicas ?? 1} NATS servers cannot hold streams of ${streamReplicas} replicas (JETSAGA_STREAM_REPLICAS)`,
    });
  }
  if (overlay === 'prod' && streamReplicas !== 3) {
    findings.push({
      file: `deploy/k8s/overlays/${overlay}`,
      field: 'JETSAGA_STREAM_REPLICAS',
      message: `production streams need 3 replicas (got ${streamReplicas ?? 'the default, 1'})`,
    });
  }
  return findings;
}

/** Deployments, StatefulSets and Jobs: what runs pods. */
export function workloadsOf(objects: Located[]): Array<Located & { obj: Workload }> {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.obj.kind)) as Array<
    Located & { obj: Workload }
  >;
}

/** The env a jetsaga container gets from `env` and `envFrom` ConfigMaps; unknown names become findings. */
export function effectiveEnv(
  c: Container,
  configMap: (name: string) => Located | undefined,
  findings: Finding[],
  file: string,
  object: string,
  at: string,
): Map<string, string> {
  const env = new Map<string, string>();
  for (const [i, from] of (c.envFrom ?? []).entries()) {
    const name = from.configMapRef?.name;
    if (!name) continue;
    const cm = configMap(name);
    if (!cm) {
      findings.push({
        file,
        object,
        field: `${at}.envFrom[${i}]`,
        message: `ConfigMap ${name} does not exist`,
      });
      continue;
    }
    for (const [key, value] of Object.entries((cm.obj.data ?? {}) as Record<string, string>)) {
      if (!knownEnvVars.has(key))
        findings.push({
          file: cm.file,
          object: `ConfigMap/${name}`,
          field: `data.${key}`,
          message: unknownEnvVar(key),
        });
      env.set(key, value);
    }
  }
  for (const [i, e] of (c.env ?? []).entries()) {
    if (!knownEnvVars.has(e.name))
      findings.push({ file, object, field: `${at}.env[${i}].name`, message: unknownEnvVar(e.name) });
    if (e.value !== undefined) env.set(e.name, e.value);
  }
  return env;
}

export function secretValue(secret: K8sObject, key: string): string | undefined {
  const stringData = secret.stringData as Record<string, string> | undefined;
  if (stringData?.[key] !== undefined) return stringData[key];
  const data = secret.data as Record<string, string> | undefined;
  return data?.[key] !== undefined ? Buffer.from(data[key], 'base64').toString('utf8') : undefined;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
