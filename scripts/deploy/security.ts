// Who talks to NATS and MongoDB, and how. Every role connects as the NATS user accounts.conf gives it, with
// the password the NATS servers check, and creates no streams or consumers when its user may not (the
// provision Job / service does). In production, credentials come from Secrets, NATS speaks TLS to clients
// with a certificate from a Secret, and MongoDB is reached with a database user over TLS. No message quotes a
// secret: they name the setting, the Secret and its key.
import path from 'node:path';
import type { RolePermissions } from '../../runtime/permissions.ts';
import { type Finding, isJetsagaImage, repositoryOf } from './findings.ts';
import { type Container, effectiveEnv, secretValue, type Workload, workloadsOf } from './kubernetes.ts';
import { envReferencesOf, NATS_ACCOUNTS_KEY, natsSecurityOf, roleOfArgs } from './nats-auth.ts';
import type { Located } from './render.ts';

const credentialVars = ['NATS_USER', 'NATS_TOKEN', 'NATS_CREDS', 'NATS_NKEY_SEED'] as const;

/** What a role's settings say about its NATS identity, whatever the platform. */
function roleFindings(
  role: RolePermissions,
  env: ReadonlyMap<string, string>,
  opts: { production: boolean; mounts?: readonly string[] },
  add: (field: string, message: string) => void,
): void {
  const user = env.get('NATS_USER');
  if (user !== undefined && user !== role.user)
    add(
      'NATS_USER',
      `"${user}" is not the NATS user of \`jetsaga ${role.command}\` (${role.user} in ${NATS_ACCOUNTS_KEY}): it would be refused or get another role's rights`,
    );
  if (user !== undefined && !env.has('NATS_PASSWORD'))
    add(
      'NATS_PASSWORD',
      `NATS_USER=${user} needs its password, NATS_PASSWORD (${role.passwordEnv} of the users' Secret)`,
    );
  const restricted = user === role.user && role.role.kind !== 'provision';
  if (restricted && (env.get('JETSAGA_PROVISION') ?? 'auto') !== 'skip')
    add(
      'JETSAGA_PROVISION',
      `the NATS user ${role.user} may not create streams or consumers: set JETSAGA_PROVISION=skip and let \`jetsaga provision\` do it`,
    );
  if (!opts.production) return;
  if (!credentialVars.some((v) => env.has(v)))
    add(
      'NATS_USER',
      `production NATS needs credentials: no NATS_USER/NATS_PASSWORD (${role.user}, password from the Secret key ${role.passwordEnv}), NATS_CREDS or NATS_NKEY_SEED`,
    );
  const urls = (env.get('NATS_URL') ?? 'nats://127.0.0.1:4222').split(',').map((u) => u.trim());
  const tlsCa = env.get('NATS_TLS_CA');
  if (!urls.every((u) => /^tls:\/\//i.test(u)) && !tlsCa)
    add(
      'NATS_URL',
      "production NATS traffic is plaintext: use tls:// URLs with NATS_TLS_CA (the CA of the servers' certificate, mounted from a Secret)",
    );
  if (tlsCa && opts.mounts && !opts.mounts.some((m) => isUnder(tlsCa, m)))
    add('NATS_TLS_CA', `${tlsCa} is in no volume mounted into the container`);
}

/** Why a MongoDB connection string is not fit for production, if it is not (never quoting it). */
export function mongoSecurity(url: string): string[] {
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  const problems: string[] = [];
  if (!/^mongodb(\+srv)?:\/\/[^/@]+@/.test(url) && query.get('authMechanism') !== 'MONGODB-X509')
    problems.push(
      'MONGO_URL has no credentials: give jetsaga a database user of its own (mongodb://USER:PASSWORD@..., or authMechanism=MONGODB-X509)',
    );
  if (query.get('tls') !== 'true' && query.get('ssl') !== 'true')
    problems.push(
      'MONGO_URL lacks tls=true: the saga documents and the credentials would cross the network in clear',
    );
  return problems;
}

const isUnder = (file: string, dir: string) =>
  file === dir || file.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

// --- Kubernetes ----------------------------------------------------------------------------------

export function k8sSecurityFindings(overlay: string, objects: Located[], examples: Located[]): Finding[] {
  const production = overlay === 'prod';
  const findings: Finding[] = [];
  const all = [...objects, ...examples];
  const find = (kind: string, name: string) =>
    all.find((o) => o.obj.kind === kind && o.obj.metadata?.name === name);
  const workloads = workloadsOf(objects);

  // The NATS servers: which Secrets give them passwords, and (production) where their certificate is.
  const natsSecrets = new Set<string>();
  let natsWorkload: (Located & { obj: Workload }) | undefined;
  for (const w of workloads)
    for (const c of w.obj.spec?.template?.spec?.containers ?? [])
      if (c.image && repositoryOf(c.image).endsWith('nats')) {
        natsWorkload = w;
        for (const from of c.envFrom ?? []) if (from.secretRef) natsSecrets.add(from.secretRef.name);
        findings.push(...natsServerFindings(w, c, find, production));
      }

  let skipping: { file: string; object: string } | undefined;
  let provisioned = false;
  for (const w of workloads) {
    const pod = w.obj.spec?.template?.spec;
    for (const [i, c] of (pod?.containers ?? []).entries()) {
      if (!c.image || !isJetsagaImage(c.image)) continue;
      const object = `${w.obj.kind}/${w.obj.metadata.name}`;
      const at = `spec.template.spec.containers[${i}]`;
      // A setting from a shared ConfigMap is reported there, once, rather than on every role.
      const shared = new Map<string, Located>();
      for (const from of c.envFrom ?? []) {
        const cm = from.configMapRef && find('ConfigMap', from.configMapRef.name);
        for (const key of Object.keys((cm?.obj.data ?? {}) as object)) if (cm) shared.set(key, cm);
      }
      for (const e of c.env ?? []) shared.delete(e.name);
      const add = (field: string, message: string) => {
        const cm = shared.get(field);
        findings.push(
          cm
            ? { file: cm.file, object: `ConfigMap/${cm.obj.metadata.name}`, field: `data.${field}`, message }
            : { file: w.file, object, field: `${at}.env.${field}`, message },
        );
      };
      const env = effectiveEnv(c, (name) => find('ConfigMap', name), [], w.file, object, at);
      const refs = new Map(
        (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [[e.name, e.valueFrom.secretKeyRef]] : [])),
      );
      for (const [name, ref] of refs) {
        const value = find('Secret', ref.name);
        const v = value ? secretValue(value.obj, ref.key) : undefined;
        if (v !== undefined) env.set(name, v);
      }
      const role = roleOfArgs(c.args ?? c.command ?? []);
      if (c.args?.[0] === 'provision') provisioned = true;
      if (!role) continue;
      for (const secret of ['NATS_PASSWORD', 'NATS_TOKEN'])
        if (env.has(secret) && !refs.has(secret))
          add(secret, `${secret} is written in the manifest: take it from a Secret (valueFrom.secretKeyRef)`);
      const pw = refs.get('NATS_PASSWORD');
      if (pw && env.get('NATS_USER') === role.user) {
        if (pw.key !== role.passwordEnv)
          add(
            'NATS_PASSWORD',
            `comes from key ${pw.key} of Secret ${pw.name}, but the NATS servers check ${role.user}'s password against ${role.passwordEnv}`,
          );
        else if (natsWorkload && !natsSecrets.has(pw.name))
          add(
            'NATS_PASSWORD',
            `the NATS servers do not get Secret ${pw.name} (envFrom of the nats container): they cannot check ${role.user}'s password`,
          );
      }
      if (env.get('JETSAGA_PROVISION') === 'skip' && role.role.kind !== 'provision')
        skipping ??= { file: w.file, object };
      roleFindings(role, env, { production, mounts: (c.volumeMounts ?? []).map((m) => m.mountPath) }, add);
      if (production) {
        const mongo = refs.get('MONGO_URL');
        if (!mongo && env.has('MONGO_URL'))
          add(
            'MONGO_URL',
            'production MONGO_URL holds credentials: take it from a Secret (valueFrom.secretKeyRef)',
          );
        const secret = mongo && find('Secret', mongo.name);
        const url = secret ? secretValue(secret.obj, mongo.key) : undefined;
        if (secret && url !== undefined)
          for (const message of mongoSecurity(url))
            findings.push({ file: secret.file, object: `Secret/${mongo.name}`, field: mongo.key, message });
      }
    }
  }
  if (skipping && !provisioned)
    findings.push({
      file: `deploy/k8s/overlays/${overlay}`,
      message: `roles run with JETSAGA_PROVISION=skip (e.g. ${skipping.object}) but no Job runs \`jetsaga provision\`: nothing would create the streams and consumers`,
    });
  return findings;
}

/** The NATS container: every password its accounts read is given; in production its certificate is a mounted Secret. */
function natsServerFindings(
  w: Located & { obj: Workload },
  c: Container,
  find: (kind: string, name: string) => Located | undefined,
  production: boolean,
): Finding[] {
  const findings: Finding[] = [];
  const object = `${w.obj.kind}/${w.obj.metadata.name}`;
  const pod = w.obj.spec.template.spec;
  const args = [...(c.command ?? []), ...(c.args ?? [])];
  const confPath = args[args.findIndex((a) => a === '--config' || a === '-c') + 1];
  if (!confPath) return findings;
  const mount = (c.volumeMounts ?? []).find((m) => isUnder(confPath, m.mountPath));
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  const cm = volume?.configMap && find('ConfigMap', volume.configMap.name);
  if (!cm) return findings; // kubernetes.ts reports a missing ConfigMap
  const data = (cm.obj.data ?? {}) as Record<string, string>;
  const text = data[path.basename(confPath)];
  if (text === undefined) return findings;
  const sec = natsSecurityOf(text, data);

  // Passwords: what the config reads from the environment, against what the container gets.
  const given = new Set((c.env ?? []).map((e) => e.name));
  const fromSecrets = (c.envFrom ?? []).flatMap((f) => (f.secretRef ? [f.secretRef.name] : []));
  const secretKeys = new Map<string, Set<string>>();
  for (const name of fromSecrets) {
    const secret = find('Secret', name);
    if (!secret) {
      findings.push({
        file: w.file,
        object,
        field: 'spec.template.spec.containers.envFrom',
        message: `Secret ${name} is neither rendered nor documented by a *.example.yaml`,
      });
      continue;
    }
    secretKeys.set(
      name,
      new Set(Object.keys({ ...(secret.obj.data as object), ...(secret.obj.stringData as object) })),
    );
  }
  if (fromSecrets.every((n) => secretKeys.has(n)) && sec.accounts !== undefined)
    for (const name of envReferencesOf(sec.accounts))
      if (!given.has(name) && ![...secretKeys.values()].some((keys) => keys.has(name)))
        findings.push({
          file: w.file,
          object,
          field: 'spec.template.spec.containers.envFrom',
          message: `${NATS_ACCOUNTS_KEY} reads $${name}, which no Secret of the nats container (${fromSecrets.join(', ') || 'none'}) holds: nats-server would not start`,
        });

  if (production && sec.tls?.certFile) {
    for (const file of [sec.tls.certFile, sec.tls.keyFile].filter((f): f is string => !!f)) {
      const m = (c.volumeMounts ?? []).find((vm) => isUnder(file, vm.mountPath));
      const v = pod.volumes?.find((vol) => vol.name === m?.name);
      const field = 'spec.template.spec.volumes';
      if (!v?.secret)
        findings.push({
          file: w.file,
          object,
          field,
          message: `the NATS tls file ${file} is in no Secret volume of the nats container (mount the certificate's Secret there)`,
        });
      else if (!find('Secret', v.secret.secretName))
        findings.push({
          file: w.file,
          object,
          field,
          message: `Secret ${v.secret.secretName} (NATS tls) is neither rendered nor documented by a *.example.yaml`,
        });
    }
  }
  return findings;
}

// --- Compose -------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition?: string }>;
}

export function composeSecurityFindings(file: string, services: Record<string, ComposeService>): Finding[] {
  const findings: Finding[] = [];
  const nats = Object.values(services).find((s) => repositoryOf(s.image ?? '') === 'nats');
  const natsEnv = nats?.environment ?? {};
  const provisioners = Object.entries(services)
    .filter(([, s]) => isJetsagaImage(s.image ?? '') && s.command?.[0] === 'provision')
    .map(([name]) => name);
  for (const [name, svc] of Object.entries(services)) {
    if (!isJetsagaImage(svc.image ?? '')) continue;
    const role = roleOfArgs(svc.command ?? []);
    if (!role) continue;
    const add = (field: string, message: string) =>
      findings.push({ file, object: `services.${name}`, field: `environment.${field}`, message });
    const env = new Map(
      Object.entries(svc.environment ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    roleFindings(role, env, { production: false }, add);
    if (env.get('NATS_USER') === role.user && env.has('NATS_PASSWORD') && nats) {
      if (natsEnv[role.passwordEnv] === undefined)
        add(
          'NATS_PASSWORD',
          `the nats service does not set ${role.passwordEnv}, the password ${NATS_ACCOUNTS_KEY} checks for ${role.user}`,
        );
      else if (natsEnv[role.passwordEnv] !== env.get('NATS_PASSWORD'))
        add(
          'NATS_PASSWORD',
          `differs from ${role.passwordEnv} of the nats service: NATS would refuse ${role.user}`,
        );
    }
    if (env.get('JETSAGA_PROVISION') === 'skip' && role.role.kind !== 'provision') {
      if (provisioners.length === 0)
        add(
          'JETSAGA_PROVISION',
          'skip, but no service runs `jetsaga provision`: nothing would create the streams and consumers',
        );
      else if (!provisioners.some((p) => svc.depends_on?.[p]?.condition === 'service_completed_successfully'))
        findings.push({
          file,
          object: `services.${name}`,
          field: 'depends_on',
          message: `wait for ${provisioners[0]} (\`condition: service_completed_successfully\`): its consumer must exist before it starts`,
        });
    }
  }
  return findings;
}
