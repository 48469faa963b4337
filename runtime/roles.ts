import type { App } from './app.ts';

/** What one process runs of an app: `jetsaga <role>`. */
export type Role =
  | { kind: 'api' }
  | { kind: 'orchestrator' }
  | { kind: 'service'; name: string }
  | { kind: 'reactor'; name: string };

export const roleName = (r: Role): string =>
  r.kind === 'service' ? `service:${r.name}` : r.kind === 'reactor' ? r.name : r.kind;

/** Every role of an app, for `jetsaga all`, `jetsaga dev` and the demo. */
export function allRoles(app: App): Role[] {
  return [
    { kind: 'orchestrator' },
    ...Object.keys(app.participants).map((name): Role => ({ kind: 'service', name })),
    ...Object.keys(app.reactors).map((name): Role => ({ kind: 'reactor', name })),
    { kind: 'api' },
  ];
}
