import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkRetention,
  configHelp,
  defaultConfig,
  defineSettings,
  inboxRetentionMs,
  loadConfig,
  retentionFloorMs,
} from './config.ts';
import { ValidationError } from './errors.ts';

describe('config', () => {
  it('has defaults that run locally', () => {
    const { config } = loadConfig([], {});
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(config.duplicateWindowMs).toBe(120_000);
  });

  it('reads env, and flags win over env', () => {
    const { config, rest } = loadConfig(['--http-port', '9000', '--log-level=debug', 'extra'], {
      JETSAGA_HTTP_PORT: '8000',
      NATS_URL: 'nats://n:4222',
    });
    expect(config.httpPort).toBe(9000);
    expect(config.logLevel).toBe('debug');
    expect(config.natsUrl).toBe('nats://n:4222');
    expect(rest).toEqual(['extra']);
  });

  it('names the flag, the env var and the bad value', () => {
    try {
      loadConfig(['--max-deliver', 'lots'], { MONGO_URL: 'postgres://x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const message = (err as Error).message;
      expect(message).toContain('--max-deliver / JETSAGA_MAX_DELIVER');
      expect(message).toContain('"lots"');
      expect(message).toContain('--mongo-url / MONGO_URL');
      expect(message).toContain('--help');
    }
  });

  it('lists every option with its default in --help', () => {
    const help = configHelp();
    expect(help).toContain('--nats-url');
    expect(help).toContain('JETSAGA_DUPLICATE_WINDOW_MS');
    expect(help).toContain('default 120000');
  });
});

describe('settings an app defines', () => {
  // The table is the process's: these stay registered for the rest of this file.
  const probe = defineSettings({
    level: {
      env: 'JETSAGA_PROBE_LEVEL',
      schema: z.coerce.number().min(0).max(1).default(0.5),
      help: 'probe level',
    },
    target: { env: 'JETSAGA_PROBE_TARGET', schema: z.string().min(1).optional(), help: 'probe target' },
    key: { env: 'PROBE_KEY', schema: z.string().min(3).optional(), help: 'probe key', secret: true },
  });

  it('are listed by --help with their flag, env var and default', () => {
    const help = configHelp();
    expect(help).toMatch(/--probe-level <v>\s+JETSAGA_PROBE_LEVEL\s+probe level \(default 0\.5\)/);
    expect(help).toMatch(/--probe-target <v>\s+JETSAGA_PROBE_TARGET\s+probe target \(default none\)/);
    expect(help).toContain('--probe-key <v>');
    // After jetsaga's own.
    expect(help.indexOf('--probe-level')).toBeGreaterThan(help.indexOf('--shutdown-timeout-ms'));
  });

  it('read env and flags, flags winning, every key present; loadConfig leaves their flags out of rest', () => {
    const argv = ['--probe-level', '0.9', 'extra', '--http-port=9000'];
    const env = { JETSAGA_PROBE_LEVEL: '0.1', JETSAGA_PROBE_TARGET: 'x' };
    const { config, rest } = loadConfig(argv, env);
    expect(rest).toEqual(['extra']);
    expect(config.httpPort).toBe(9000);
    expect(config).toEqual(defaultConfig({ httpPort: 9000 }));
    expect(probe.load(env, argv)).toEqual({ level: 0.9, target: 'x', key: undefined });
    expect(probe.load({ JETSAGA_PROBE_LEVEL: '0.2' }, [])).toEqual({
      level: 0.2,
      target: undefined,
      key: undefined,
    });
    expect(probe.load({}, ['--probe-target=y'])).toMatchObject({ level: 0.5, target: 'y' });
  });

  it("read the process's environment and command line by default", () => {
    process.env.JETSAGA_PROBE_TARGET = 'from-process';
    try {
      expect(probe.load().target).toBe('from-process');
    } finally {
      delete process.env.JETSAGA_PROBE_TARGET;
    }
  });

  it('name the flag, the env var and the bad value, as the main table does; never a secret', () => {
    try {
      probe.load({ PROBE_KEY: 'no' }, ['--probe-level', 'lots']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const message = (err as Error).message;
      expect(message).toMatch(/^invalid configuration:/);
      expect(message).toContain('--probe-level / JETSAGA_PROBE_LEVEL');
      expect(message).toContain('"lots"');
      expect(message).toContain('--probe-key / PROBE_KEY');
      expect(message).not.toContain('"no"');
      expect(message).toContain('--help');
    }
  });

  it('refuse an env var or flag that is already a setting', () => {
    const again = (env: string) => () => defineSettings({ x: { env, schema: z.string(), help: 'x' } });
    expect(again('JETSAGA_HTTP_PORT')).toThrow(/JETSAGA_HTTP_PORT/);
    expect(again('HTTP_PORT')).toThrow(/--http-port/);
    expect(again('JETSAGA_PROBE_LEVEL')).toThrow(/already a setting/);
    expect(again('lower_case')).toThrow(/A-Z/);
  });
});

describe('retention settings', () => {
  const short = { JETSAGA_STREAM_MAX_AGE_MS: '2000', JETSAGA_DLQ_MAX_AGE_MS: '1000' };

  it('keep ended sagas for ever by default, and inbox records as long as the floor', () => {
    const { config } = loadConfig([], short);
    expect(config.retentionMs).toBe(0);
    expect(inboxRetentionMs(config)).toBe(3000);
    expect(retentionFloorMs(config)).toBe(3000);
  });

  it('accept the floor, and 0 for ever', () => {
    const { config } = loadConfig([], {
      ...short,
      JETSAGA_RETENTION_MS: '3000',
      JETSAGA_INBOX_RETENTION_MS: '0',
    });
    expect(config.retentionMs).toBe(3000);
    expect(inboxRetentionMs(config)).toBe(0);
  });

  it('refuse a period below the stream max age plus the dead-letter retention, saying why', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig([], { ...short, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
      }
      return expect.unreachable();
    };
    const message = refused({ JETSAGA_RETENTION_MS: '2999' });
    expect(message).toContain('--retention-ms / JETSAGA_RETENTION_MS');
    expect(message).toContain('2999 ms is below its floor of 3000 ms');
    expect(message).toContain('JETSAGA_STREAM_MAX_AGE_MS 2000 + JETSAGA_DLQ_MAX_AGE_MS 1000');
    expect(message).toContain('replayed from the dead-letter queue');
    expect(refused({ JETSAGA_INBOX_RETENTION_MS: '10' })).toContain(
      '--inbox-retention-ms / JETSAGA_INBOX_RETENTION_MS: 10 ms is below its floor of 3000 ms',
    );
    // A config built in code is checked the same way where a node starts.
    expect(() => checkRetention(defaultConfig({ retentionMs: 1000 }))).toThrow(/below its floor/);
  });
});
