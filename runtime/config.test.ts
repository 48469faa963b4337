import { describe, expect, it } from 'vitest';
import { configHelp, loadConfig } from './config.ts';
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
