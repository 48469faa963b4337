import type { AnyStateMachine } from 'xstate';
import type { SagaDefinition } from '../orchestrator/index.ts';
import type { MachineGraph } from './schemas.ts';

/** The parts of XState's StateNode this reads; typed here because xstate types them loosely. */
interface Node {
  key: string;
  path: string[];
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  tags: string[];
  description?: string;
  states: Record<string, Node>;
  initial?: { target: ReadonlyArray<{ path: string[] }> };
  transitions: Map<string, Trans[]>;
  after: Array<Trans & { delay: string | number }>;
  always?: Trans[];
}

interface Trans {
  eventType: string;
  target?: ReadonlyArray<{ path: string[] }>;
  guard?: unknown;
  reenter?: boolean;
}

const dotted = (path: readonly string[]) => path.join('.');

function guardName(guard: unknown): string | null {
  if (!guard) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard && typeof guard.type === 'string') return guard.type;
  return typeof guard === 'function' ? guard.name || 'inline guard' : 'guard';
}

/**
 * The statechart of a saga as plain data, read from the machine's own state nodes, so a
 * drawing can never disagree with what runs. State ids are the dotted paths a saga
 * document's `state` uses, so the current state can be highlighted by id.
 */
export function machineGraph(def: Pick<SagaDefinition, 'type' | 'version' | 'machine'>): MachineGraph {
  const machine: AnyStateMachine = def.machine;
  const states: MachineGraph['states'] = [];
  const transitions: MachineGraph['transitions'] = [];
  const visit = (node: Node, parent: string | null) => {
    const id = dotted(node.path);
    states.push({
      id,
      key: node.key,
      parent,
      kind: node.type,
      initial: node.initial?.target[0] ? dotted(node.initial.target[0].path) : null,
      tags: [...node.tags],
      description: node.description ?? null,
    });
    const edge = (t: Trans, kind: 'event' | 'after' | 'always', delay: string | null) =>
      transitions.push({
        source: id,
        targets: (t.target ?? []).map((s) => dotted(s.path)),
        event: kind === 'event' ? t.eventType : null,
        kind,
        delay,
        guard: guardName(t.guard),
        reenter: Boolean(t.reenter),
      });
    for (const [event, list] of node.transitions) {
      // Delayed transitions are listed again under `after`, with their delay.
      if (event.startsWith('xstate.after.')) continue;
      for (const t of list) edge(t, 'event', null);
    }
    for (const t of node.after) edge(t, 'after', String(t.delay));
    for (const t of node.always ?? []) edge(t, 'always', null);
    for (const child of Object.values(node.states)) visit(child, id);
  };
  visit(machine.root as unknown as Node, null);
  return { type: def.type, version: def.version, machineId: machine.id, states, transitions };
}
