// deploy:check accepts the manifests in the repository and rejects broken copies of them, naming the file,
// the object and the field at fault.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNatsServer } from '../../runtime/dev/index.ts';
import {
  checkDeploy,
  ensureComposeCheck,
  ensureKustomize,
  formatFinding,
} from '../../scripts/deploy/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const copies: string[] = [];

/** A copy of everything deploy:check reads, with one edit applied. */
async function brokenCopy(file: string, from: string | RegExp, to: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-deploy-test-'));
  copies.push(dir);
  // package.json and tsconfig.build.json: the Dockerfile check reads the Node version and the compiled layout.
  for (const entry of ['deploy', 'docker-compose.yml', 'bin', 'package.json', 'tsconfig.build.json'])
    await cp(path.join(root, entry), path.join(dir, entry), { recursive: true });
  const target = path.join(dir, file);
  const text = await readFile(target, 'utf8');
  const edited = text.replace(from, to);
  expect(edited, `the edit of ${file} must change it`).not.toBe(text);
  await writeFile(target, edited);
  return dir;
}

const findingsOf = async (dir: string) => (await checkDeploy({ root: dir })).findings.map(formatFinding);

describe('deploy:check', () => {
  // The Go tools are built once per machine (under a minute), outside the tests' own time.
  beforeAll(async () => {
    await Promise.all([ensureKustomize(), ensureComposeCheck(), ensureNatsServer()]);
  }, 300_000);
  afterAll(async () => {
    await Promise.all(copies.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('passes the manifests in the repository', async () => {
    const report = await checkDeploy({ root });
    expect(report.findings.map(formatFinding)).toEqual([]);
    expect(Object.keys(report.overlays)).toEqual(['dev', 'prod']);
  });

  // Concurrent: each case renders and loads everything once; the tools are separate processes.
  it.concurrent.each([
    {
      what: 'a field of the wrong type',
      file: 'deploy/k8s/base/api.yaml',
      from: 'containerPort: 8080',
      to: 'containerPort: eighty',
      expected:
        'deploy/k8s/base/api.yaml: Deployment/jetsaga-api: spec.template.spec.containers[0].ports[1].containerPort: must be integer (Kubernetes schema)',
    },
    {
      what: 'a missing required field',
      file: 'deploy/k8s/base/orchestrator.yaml',
      from: / {6}containers:\n {8}- name: jetsaga\n/,
      to: '      containers:\n        - imagePullPolicy: Always\n',
      expected:
        'Deployment/jetsaga-orchestrator: spec.template.spec.containers[0]: must have required property',
    },
    {
      what: 'a setting jetsaga does not know',
      file: 'deploy/k8s/base/kustomization.yaml',
      from: '- LOG_LEVEL=info',
      to: '- LOG_LEVL=info',
      expected: 'data.LOG_LEVL: LOG_LEVL is not a jetsaga setting',
    },
    {
      what: 'a value the config schema refuses',
      file: 'deploy/k8s/base/kustomization.yaml',
      from: '- JETSAGA_STREAM_REPLICAS=3',
      to: '- JETSAGA_STREAM_REPLICAS=7',
      expected: 'invalid configuration: --stream-replicas / JETSAGA_STREAM_REPLICAS',
    },
    {
      what: 'an unpinned image',
      file: 'deploy/k8s/base/nats.yaml',
      from: 'image: nats:2.12.1-alpine',
      to: 'image: nats:latest',
      expected: 'StatefulSet/nats: spec.template.spec.containers[0].image: image "nats:latest" uses "latest"',
    },
    {
      what: 'production NATS without fsync',
      file: 'deploy/k8s/overlays/prod/nats.conf',
      from: /^ {2}sync_interval: always\n/m,
      to: '',
      expected: 'must set `sync_interval: always`',
    },
    {
      what: 'a NATS config nats-server rejects',
      file: 'deploy/k8s/base/nats.conf',
      from: 'lame_duck_duration: 30s',
      to: 'lame_duck_duration: 3s',
      expected: 'nats-server rejects it',
    },
    {
      what: 'a Compose property that does not exist',
      file: 'docker-compose.yml',
      from: "    command: ['orchestrator']",
      to: "    comand: ['orchestrator']",
      expected:
        'docker-compose.yml: invalid Compose file: services.orchestrator.comand is not a Compose property',
    },
    {
      what: 'a role missing from Compose',
      file: 'docker-compose.yml',
      from: "command: ['service', 'payment']",
      to: "command: ['service', 'paymnt']",
      expected: 'docker-compose.yml: services.payment: command: "paymnt" is not a participant',
    },
    {
      what: 'an API that listens on loopback only',
      file: 'deploy/k8s/base/api.yaml',
      from: 'value: 0.0.0.0',
      to: 'value: 127.0.0.1',
      expected: 'env.JETSAGA_HTTP_HOST: "127.0.0.1" is not reachable from outside the pod',
    },
    {
      what: 'a kustomization that does not build',
      file: 'deploy/k8s/overlays/dev/kustomization.yaml',
      from: '  - mongo.yaml',
      to: '  - mongo-missing.yaml',
      expected: 'deploy/k8s/overlays/dev/kustomization.yaml: kustomize build failed',
    },
    {
      what: 'a root user in the image',
      file: 'deploy/Dockerfile',
      from: 'USER 1000:1000',
      to: 'USER node',
      expected: 'deploy/Dockerfile: line',
    },
    {
      what: 'an image that runs TypeScript through tsx',
      file: 'deploy/Dockerfile',
      from: '"dist/bin/jetsaga.js"]',
      to: '"--import", "tsx", "bin/jetsaga.ts"]',
      expected: 'ENTRYPOINT runs TypeScript ("tsx")',
    },
    {
      what: 'a Node other than the one the tests run on',
      file: 'deploy/Dockerfile',
      from: 'FROM node:24.21.0-bookworm-slim AS build',
      to: 'FROM node:20.20.2-bookworm-slim AS build',
      expected: 'base image "node:20.20.2-bookworm-slim" runs node, so it must be node:24.21.0',
    },
    {
      what: 'the local infrastructure shipped in the image',
      file: 'deploy/Dockerfile',
      from: 'rm -rf dist/runtime/dev dist/demo',
      to: 'rm -rf dist/demo',
      expected: 'puts dist/runtime/dev/ (the local infrastructure, `jetsaga dev`) into the image',
    },
    {
      what: 'TypeScript sources in the image',
      file: 'deploy/Dockerfile',
      from: 'COPY --chown=root:root package.json ./',
      to: 'COPY --chown=root:root package.json runtime ./',
      expected: 'COPY runtime puts TypeScript sources into the image',
    },
    {
      what: 'a build input the .dockerignore keeps out',
      file: 'deploy/Dockerfile.dockerignore',
      from: '!tsconfig.build.json\n',
      to: '',
      expected:
        'deploy/Dockerfile.dockerignore: tsconfig.build.json is needed to build the image but not let through',
    },
    // --- the ops endpoint: probes, scraping, healthchecks ---
    {
      what: 'role Deployments without a liveness probe',
      file: 'deploy/k8s/base/role-defaults.yaml',
      from: /^ {10}livenessProbe:\n(?: {12}.*\n)+/m,
      to: '',
      expected:
        'deploy/k8s/base/orchestrator.yaml: Deployment/jetsaga-orchestrator: spec.template.spec.containers[0].livenessProbe: `jetsaga orchestrator`: no livenessProbe: it needs httpGet /healthz on the ops port (9464, port "ops")',
    },
    {
      what: 'a readiness probe on the API port',
      file: 'deploy/k8s/base/role-defaults.yaml',
      from: /(readinessProbe:\n {12}httpGet:\n {14}path: \/readyz\n {14}port: )ops/,
      to: '$1 8080',
      expected:
        'Deployment/jetsaga-api: spec.template.spec.containers[0].readinessProbe: `jetsaga api`: must be GET /readyz on the ops port (9464, port "ops"), not /readyz on 8080',
    },
    {
      what: 'role pods without scraping annotations',
      file: 'deploy/k8s/base/role-defaults.yaml',
      from: "        prometheus.io/scrape: 'true'\n",
      to: '',
      expected:
        'deploy/k8s/base/services.yaml: Deployment/jetsaga-payment: spec.template.metadata.annotations.prometheus.io/scrape: `jetsaga service payment`: missing',
    },
    {
      what: 'a PodMonitor that misses the ops port',
      file: 'deploy/k8s/components/prometheus-operator/podmonitor.yaml',
      from: 'port: ops',
      to: 'port: http',
      expected:
        'deploy/k8s/components/prometheus-operator/podmonitor.yaml: PodMonitor/jetsaga: spec.podMetricsEndpoints: no endpoint scrapes /metrics on port "ops" of Deployment/jetsaga-orchestrator',
    },
    {
      what: 'a PodMonitor of the wrong shape',
      file: 'deploy/k8s/components/prometheus-operator/podmonitor.yaml',
      from: 'interval: 30s',
      to: 'interval: thirty',
      expected: 'PodMonitor/jetsaga: spec.podMetricsEndpoints[0].interval: "thirty" is not a duration',
    },
    {
      what: 'a Compose role without a healthcheck',
      file: 'docker-compose.yml',
      from: "    command: ['orchestrator']\n",
      to: "    command: ['orchestrator']\n    healthcheck:\n      disable: true\n",
      expected:
        'docker-compose.yml: services.orchestrator: healthcheck: `jetsaga orchestrator` has no healthcheck: ask /healthz on its ops port (9464, JETSAGA_OPS_PORT)',
    },
    {
      what: "an image healthcheck on the API's port",
      file: 'deploy/Dockerfile',
      from: '(process.env.JETSAGA_OPS_PORT||9464)',
      to: '(process.env.JETSAGA_HTTP_PORT||8080)',
      expected: 'HEALTHCHECK must ask /healthz on the ops port (JETSAGA_OPS_PORT)',
    },
    // --- who may talk to NATS and MongoDB, and how ---
    {
      what: 'a production NATS without users',
      file: 'deploy/k8s/overlays/prod/nats.conf',
      from: /^include \.\/accounts\.conf\n/m,
      to: '',
      expected:
        'data.nats.conf: production NATS lets any client in: no users. Include the generated accounts.conf',
    },
    {
      what: 'a production NATS with an anonymous user',
      file: 'deploy/k8s/overlays/prod/nats.conf',
      from: 'include ./accounts.conf',
      to: 'include ./accounts.conf\nno_auth_user: api',
      expected: 'production NATS must not set no_auth_user (api)',
    },
    {
      what: 'a production NATS without TLS',
      file: 'deploy/k8s/overlays/prod/nats.conf',
      from: /^tls \{[^}]*\}\n/m,
      to: '',
      expected: 'data.nats.conf: production NATS accepts plaintext client connections',
    },
    {
      what: 'a production NATS certificate outside any Secret',
      file: 'deploy/k8s/overlays/prod/nats.conf',
      from: 'cert_file: /etc/nats-tls/tls.crt',
      to: 'cert_file: /etc/nats/tls.crt',
      expected:
        'StatefulSet/nats: spec.template.spec.volumes: the NATS tls file /etc/nats/tls.crt is in no Secret volume',
    },
    {
      what: 'production roles that speak plaintext to NATS',
      file: 'deploy/k8s/overlays/prod/kustomization.yaml',
      from: /^ {6}- NATS_URL=tls:.*\n {6}- NATS_TLS_CA=.*\n/m,
      to: '',
      expected: 'data.NATS_URL: production NATS traffic is plaintext',
    },
    {
      what: 'a production role without NATS credentials',
      file: 'deploy/k8s/base/orchestrator.yaml',
      from: /^ {10}env:\n(?: {12}.*\n)+?(?= {10}resources:)/m,
      to: '',
      expected:
        'deploy/k8s/base/orchestrator.yaml: Deployment/jetsaga-orchestrator: spec.template.spec.containers[0].env.NATS_USER: production NATS needs credentials',
    },
    {
      what: "a role on another role's NATS user",
      file: 'deploy/k8s/base/services.yaml',
      from: 'value: svc-payment',
      to: 'value: svc-inventory',
      expected:
        '"svc-inventory" is not the NATS user of `jetsaga service payment` (svc-payment in accounts.conf)',
    },
    {
      what: 'a role whose NATS password is not the one the servers check',
      file: 'deploy/k8s/base/services.yaml',
      from: 'key: NATS_PASSWORD_SVC_CARS',
      to: 'key: NATS_PASSWORD_SVC_HOTELS',
      expected:
        "comes from key NATS_PASSWORD_SVC_HOTELS of Secret jetsaga-nats-users, but the NATS servers check svc-cars's password against NATS_PASSWORD_SVC_CARS",
    },
    {
      what: 'generated NATS users edited by hand',
      file: 'deploy/k8s/base/accounts.conf',
      from: '"evt.inventory.>"',
      to: '"evt.>"',
      expected:
        "data.accounts.conf: not what runtime/permissions.ts generates for the app's roles: regenerate it with `npx tsx scripts/deploy/nats-auth.ts`",
    },
    {
      what: 'generated Compose NATS users edited by hand',
      file: 'deploy/nats/accounts.conf',
      from: '"$JS.API.STREAM.INFO.SAGA_DLQ"',
      to: '"$JS.API.STREAM.>"',
      expected: 'deploy/nats/accounts.conf: not what runtime/permissions.ts generates',
    },
    {
      what: 'roles that skip provisioning with no provision Job',
      file: 'deploy/k8s/base/kustomization.yaml',
      from: '  - provision.yaml\n',
      to: '',
      expected: 'but no Job runs `jetsaga provision`',
    },
    {
      what: 'a role that would provision with a user that may not',
      file: 'docker-compose.yml',
      from: '  JETSAGA_PROVISION: skip',
      to: '  JETSAGA_PROVISION: auto',
      expected:
        'docker-compose.yml: services.orchestrator: environment.JETSAGA_PROVISION: the NATS user orchestrator may not create streams or consumers',
    },
    {
      what: 'a Compose role whose NATS password the server does not have',
      file: 'docker-compose.yml',
      from: 'NATS_PASSWORD: ${NATS_PASSWORD_API:-compose-only-api}',
      to: 'NATS_PASSWORD: ${NATS_PASSWORD_API:-compose-only-apx}',
      expected:
        'services.api: environment.NATS_PASSWORD: differs from NATS_PASSWORD_API of the nats service: NATS would refuse api',
    },
    {
      what: 'production MongoDB without TLS',
      file: 'deploy/k8s/overlays/prod/mongo-secret.example.yaml',
      from: /^( {2}MONGO_URL: .*)tls=true&/m,
      to: '$1',
      expected:
        'deploy/k8s/overlays/prod/mongo-secret.example.yaml: Secret/jetsaga-mongo: MONGO_URL: MONGO_URL lacks tls=true',
    },
    {
      what: 'production MongoDB without a user',
      file: 'deploy/k8s/overlays/prod/mongo-secret.example.yaml',
      from: /^( {2}MONGO_URL: mongodb\+srv:\/\/)USER:PASSWORD@/m,
      to: '$1',
      expected: 'MONGO_URL: MONGO_URL has no credentials',
    },
  ])('rejects $what', async ({ file, from, to, expected }) => {
    const findings = await findingsOf(await brokenCopy(file, from, to));
    expect(
      findings.some((f) => f.includes(expected)),
      `findings:\n${findings.join('\n')}`,
    ).toBe(true);
  });
});
