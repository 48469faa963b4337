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
        'deploy/k8s/base/api.yaml: Deployment/jetsaga-api: spec.template.spec.containers[0].ports[0].containerPort: must be integer (Kubernetes schema)',
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
  ])('rejects $what', async ({ file, from, to, expected }) => {
    const findings = await findingsOf(await brokenCopy(file, from, to));
    expect(
      findings.some((f) => f.includes(expected)),
      `findings:\n${findings.join('\n')}`,
    ).toBe(true);
  });
});
