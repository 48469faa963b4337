// The local servers as managed processes: nats-server with JetStream, and the MongoDB-wire server.
import { type MongoWireServer, mongoJavaServerArgs } from './binaries.ts';
import { type LocalServerOptions, ManagedProcess } from './local-process.ts';

export function natsServerProcess(
  command: string,
  opts: LocalServerOptions & {
    monitor?: boolean;
    /**
     * A nats-server config file (accounts, users and permissions, TLS) read besides the flags; the
     * flags (address, port, JetStream and its store) win over what it says about the same.
     */
    configFile?: string;
  } = {},
): ManagedProcess {
  return new ManagedProcess({
    dataDir: opts.dataDir,
    detached: opts.detached,
    name: 'nats-server',
    command,
    scheme: 'nats',
    storeSubdir: 'jetstream',
    extraPorts: opts.monitor ? ['monitor'] : [],
    args: ({ host, port, ports, storeDir }) => {
      const args = [
        ...(opts.configFile ? ['-c', opts.configFile] : []),
        ...['-a', host, '-p', String(port), '-js', '-sd', storeDir],
      ];
      if (ports.monitor !== undefined) args.push('-m', String(ports.monitor));
      return args;
    },
  });
}

export function mongoWireProcess(server: MongoWireServer, opts: LocalServerOptions = {}): ManagedProcess {
  if (server.kind === 'mongod') {
    return new ManagedProcess({
      dataDir: opts.dataDir,
      detached: opts.detached,
      name: 'mongod',
      command: server.path,
      scheme: 'mongodb',
      storeSubdir: 'mongod',
      args: ({ host, port, storeDir }) => [
        '--bind_ip',
        host,
        '--port',
        String(port),
        '--dbpath',
        storeDir,
        '--quiet',
      ],
      readyTimeoutMs: 60_000, // mongod preallocates and recovers its journal before listening
    });
  }
  return new ManagedProcess({
    dataDir: opts.dataDir,
    detached: opts.detached,
    name: 'mongo-java-server',
    command: server.java,
    scheme: 'mongodb',
    // The H2 MVStore file is <dataDir>/mongo/data.mv: the data dir is kept across restart() and kill().
    storeSubdir: 'mongo',
    args: ({ host, port, storeDir }) => mongoJavaServerArgs(server.path, { host, port, storeDir }),
  });
}

// --- process-wide cleanup -------------------------------------------------------------------------
