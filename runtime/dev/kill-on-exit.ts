// One registry of the children that die with this process: local servers and role processes alike.
/** A child of this process that must not outlive it: its server or role process dies with it. */
export interface KilledOnExit {
  /** Synchronous (an 'exit' hook runs no more async work): SIGKILL, and whatever else must go. */
  killSync(): void;
}

/** Every ManagedProcess and RoleProcess (role-process.ts) of this process that may still run. */
const live = new Set<KilledOnExit>();
let exitHooksInstalled = false;

function killAllSync(): void {
  for (const proc of live) proc.killSync();
  live.clear();
}

/**
 * Registers a child to be killed when this process ends (installing the hooks of killAllOnExit),
 * until the returned function is called: when it stopped, or exited by itself.
 */
export function killOnExit(child: KilledOnExit): () => void {
  killAllOnExit();
  live.add(child);
  return () => {
    live.delete(child);
  };
}

/**
 * Installs (once) the hooks that kill every registered child (killOnExit: the ManagedProcess servers
 * and the RoleProcess roles) when this process ends: on 'exit', and on SIGINT/SIGTERM/SIGHUP when
 * nothing else handles them. An application with its own signal handlers keeps control of shutdown;
 * its eventual exit (process.exit included) still runs the 'exit' hook.
 * Called by the first start(), exported for callers that want the hooks early.
 * (A SIGKILLed parent cannot run any hook; its children then outlive it.)
 */
export function killAllOnExit(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return; // someone else owns shutdown
      killAllSync();
      process.off(signal, onSignal);
      process.kill(process.pid, signal); // default action again: exit with the signal's status
    };
    process.on(signal, onSignal);
  }
}
