// `npm run deploy:check`: renders every kustomize overlay and validates each object against the Kubernetes
// schemas, loads docker-compose.yml with the Compose loader, checks the NATS configs with nats-server and the
// Dockerfile's promises, that every setting the manifests give jetsaga is one `jetsaga help` lists, and who
// may talk to NATS and MongoDB: the generated NATS users (scripts/deploy/nats-auth.ts) are the ones deployed,
// each role connects as its own, and production requires credentials and TLS (scripts/deploy/security.ts).
// Offline: the tools are built once from the Go module proxy; the schemas ship in an npm package.
import { fileURLToPath } from 'node:url';
import { checkDeploy, formatFinding } from './deploy/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

try {
  const report = await checkDeploy({ root });
  for (const f of report.findings) process.stdout.write(`${formatFinding(f)}\n`);
  const overlays = Object.entries(report.overlays)
    .map(([name, n]) => `${name} (${n} objects)`)
    .join(', ');
  const verdict = report.findings.length === 0 ? 'ok' : `${report.findings.length} problem(s)`;
  process.stdout.write(
    `deploy:check: ${verdict}; kustomize overlays ${overlays || 'none'}, docker-compose.yml, NATS configs, deploy/Dockerfile\n`,
  );
  process.exitCode = report.findings.length === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`deploy:check: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
