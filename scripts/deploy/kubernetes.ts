// Checks of the rendered Kubernetes objects: each against its Kubernetes schema (kubernetes-models, which
// ships the API's OpenAPI schemas compiled, so nothing is fetched), then jetsaga's own rules: pinned images,
// known settings, probes, resources, non-root, references that resolve, durability in production.
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
  failureThreshold?: number;
  periodSeconds?: number;
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
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
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
  // kubernetes-models has no prometheus-operator CRDs: the fields jetsaga relies on are checked by hand.
  if (apiVersion === 'monitoring.coreos.com/v1' && obj.kind === 'PodMonitor')
    return podMonitorShape(obj).map(([field, message]) => ({ file, object, field, message }));
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
      if (!role || !containerRoles.includes(role)) {
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
        const host = env.get('JETSAGA_HTTP_HOST');
        if (host !== undefined && host !== '0.0.0.0' && host !== '::')
          add(`${at}.env.JETSAGA_HTTP_HOST`, `"${host}" is not reachable from outside the pod: use 0.0.0.0`);
      }
      if (obj.kind === 'Deployment' && role && role !== 'provision')
        findings.push(
          ...opsFindings(obj, c, env, `jetsaga ${c.args?.join(' ') ?? role}`, at).map((f) => ({
            file,
            object,
            ...f,
          })),
        );
    }
  }

  // Every role of the distribution runs somewhere.
  for (const wanted of [
    'api',
    'orchestrator',
    ...reactorRoles,
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

/**
 * A role's Deployment and its ops endpoint (JETSAGA_OPS_PORT): a container port named `ops`, reachable from
 * outside the pod; liveness on /healthz and readiness on /readyz there; the pod annotated for Prometheus.
 */
function opsFindings(
  obj: Workload,
  c: Container,
  env: ReadonlyMap<string, string>,
  role: string,
  at: string,
): Array<{ field: string; message: string }> {
  const out: Array<{ field: string; message: string }> = [];
  const add = (field: string, message: string) => out.push({ field, message: `\`${role}\`: ${message}` });
  const opsPort = Number(env.get('JETSAGA_OPS_PORT') ?? OPS_PORT_DEFAULT);
  const host = env.get('JETSAGA_OPS_HOST');
  if (host !== '0.0.0.0' && host !== '::')
    add(
      `${at}.env.JETSAGA_OPS_HOST`,
      `${host === undefined ? 'not set' : `"${host}"`}: the kubelet and Prometheus reach the ops port only if it listens on 0.0.0.0`,
    );
  const named = c.ports?.find((p) => p.name === 'ops');
  if (!named) add(`${at}.ports`, `no container port named "ops" (${opsPort}, JETSAGA_OPS_PORT)`);
  else if (named.containerPort !== opsPort)
    add(`${at}.ports`, `port "ops" is ${named.containerPort}, but JETSAGA_OPS_PORT is ${opsPort}`);
  const portOf = (p: number | string | undefined) =>
    typeof p === 'string' ? c.ports?.find((cp) => cp.name === p)?.containerPort : p;
  for (const [probeName, wanted, why] of [
    ['livenessProbe', opsPaths.liveness, 'restarts a hung process'],
    ['readinessProbe', opsPaths.readiness, 'holds traffic and rollouts until NATS and MongoDB answer'],
  ] as const) {
    const probe = c[probeName];
    if (!probe?.httpGet)
      add(
        `${at}.${probeName}`,
        `no ${probeName}: it needs httpGet ${wanted} on the ops port (${opsPort}, port "ops"), which ${why}`,
      );
    else if (probe.httpGet.path !== wanted || portOf(probe.httpGet.port) !== opsPort)
      add(
        `${at}.${probeName}`,
        `must be GET ${wanted} on the ops port (${opsPort}, port "ops"), not ${probe.httpGet.path ?? '/'} on ${probe.httpGet.port}`,
      );
  }
  const liveness = c.livenessProbe;
  if (liveness?.httpGet && (liveness.failureThreshold ?? 3) * (liveness.periodSeconds ?? 10) < 30)
    add(
      `${at}.livenessProbe`,
      `fails after ${(liveness.failureThreshold ?? 3) * (liveness.periodSeconds ?? 10)} s (failureThreshold x periodSeconds): give it at least 30 s, a busy event loop is no reason to restart`,
    );
  const annotations = obj.spec.template.metadata?.annotations ?? {};
  for (const [key, value] of [
    ['prometheus.io/scrape', 'true'],
    ['prometheus.io/port', String(opsPort)],
    ['prometheus.io/path', opsPaths.metrics],
  ] as const)
    if (annotations[key] !== value)
      add(
        `spec.template.metadata.annotations.${key}`,
        `${annotations[key] === undefined ? 'missing' : `"${annotations[key]}"`}: Prometheus scrapes the pod when it says ${key}: "${value}"`,
      );
  return out;
}

/** The fields of a PodMonitor (monitoring.coreos.com/v1) that matter, as [field, problem] pairs. */
export function podMonitorShape(obj: K8sObject): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (!obj.metadata?.name) out.push(['metadata.name', 'must be set (PodMonitor)']);
  if (!spec || typeof spec !== 'object') return [...out, ['spec', 'must be an object (PodMonitor)']];
  const selector = spec.selector as Record<string, unknown> | undefined;
  const isStringMap = (v: unknown) =>
    !!v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string');
  if (!selector || typeof selector !== 'object' || (!selector.matchLabels && !selector.matchExpressions))
    out.push(['spec.selector', 'must have matchLabels or matchExpressions (PodMonitor)']);
  else if (selector.matchLabels !== undefined && !isStringMap(selector.matchLabels))
    out.push(['spec.selector.matchLabels', 'must map label names to strings (PodMonitor)']);
  const endpoints = spec.podMetricsEndpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0)
    out.push(['spec.podMetricsEndpoints', 'must be a non-empty array (PodMonitor)']);
  else
    for (const [i, e] of (endpoints as Array<Record<string, unknown>>).entries()) {
      const at = `spec.podMetricsEndpoints[${i}]`;
      if (!e || typeof e !== 'object') {
        out.push([at, 'must be an object (PodMonitor)']);
        continue;
      }
      if (typeof e.port !== 'string' && typeof e.portNumber !== 'number')
        out.push([`${at}.port`, 'must name a container port (PodMonitor)']);
      if (e.path !== undefined && (typeof e.path !== 'string' || !e.path.startsWith('/')))
        out.push([`${at}.path`, 'must be an absolute path (PodMonitor)']);
      for (const key of ['interval', 'scrapeTimeout'])
        if (e[key] !== undefined && !/^(\d+(ms|s|m|h))+$/.test(String(e[key])))
          out.push([`${at}.${key}`, `"${String(e[key])}" is not a duration like 30s (PodMonitor)`]);
    }
  return out;
}

/** A PodMonitor (an optional component) scrapes the ops port of every role's pod. */
export function podMonitorFindings(objects: Located[], monitors: Located[]): Finding[] {
  const findings: Finding[] = [];
  const roles = workloadsOf(objects).filter(
    (w) =>
      w.obj.kind === 'Deployment' &&
      (w.obj.spec?.template?.spec?.containers ?? []).some((c) => c.image && isJetsagaImage(c.image)),
  );
  for (const { obj, file } of monitors) {
    if (obj.kind !== 'PodMonitor') continue;
    const object = `PodMonitor/${obj.metadata?.name}`;
    const spec = (obj.spec ?? {}) as {
      selector?: { matchLabels?: Record<string, string> };
      podMetricsEndpoints?: Array<{ port?: string; path?: string }>;
    };
    const selector = spec.selector?.matchLabels ?? {};
    const endpoints = spec.podMetricsEndpoints ?? [];
    for (const w of roles) {
      const name = `Deployment/${w.obj.metadata.name}`;
      if (!matches(selector, w.obj.spec.template.metadata?.labels)) {
        findings.push({
          file,
          object,
          field: 'spec.selector',
          message: `does not select the pods of ${name}`,
        });
        continue;
      }
      const ports = new Set(
        w.obj.spec.template.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name),
      );
      if (
        !endpoints.some(
          (e) => e.port === 'ops' && ports.has('ops') && (e.path ?? '/metrics') === opsPaths.metrics,
        )
      )
        findings.push({
          file,
          object,
          field: 'spec.podMetricsEndpoints',
          message: `no endpoint scrapes ${opsPaths.metrics} on port "ops" of ${name}`,
        });
    }
  }
  return findings;
}
