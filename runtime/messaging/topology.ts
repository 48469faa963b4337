/**
 * Names of streams, subjects and durable consumers. A namespace prefixes all of them so
 * several environments (or test runs) can share one NATS without seeing each other.
 */
export interface Topology {
  readonly namespace: string;
  readonly streams: { readonly cmd: string; readonly evt: string; readonly dlq: string };
  cmdSubject(type: string): string;
  evtSubject(type: string): string;
  dlqSubject(consumer: string): string;
  /** All commands for one service. */
  cmdFilter(service: string): string;
  readonly allCmd: string;
  readonly allEvt: string;
  readonly allDlq: string;
  /** Strips the namespace: `ns.evt.payment.authorized` -> `evt.payment.authorized`. */
  local(subject: string): string;
}

export function topology(namespace = ''): Topology {
  const p = namespace ? `${namespace}.` : '';
  const s = namespace ? `${namespace.toUpperCase().replace(/-/g, '_')}_` : '';
  return {
    namespace,
    streams: { cmd: `${s}SAGA_CMD`, evt: `${s}SAGA_EVT`, dlq: `${s}SAGA_DLQ` },
    cmdSubject: (type) => `${p}cmd.${type}`,
    evtSubject: (type) => `${p}evt.${type}`,
    dlqSubject: (consumer) => `${p}dlq.${consumer}`,
    cmdFilter: (service) => `${p}cmd.${service}.>`,
    allCmd: `${p}cmd.>`,
    allEvt: `${p}evt.>`,
    allDlq: `${p}dlq.>`,
    local: (subject) => (p && subject.startsWith(p) ? subject.slice(p.length) : subject),
  };
}
