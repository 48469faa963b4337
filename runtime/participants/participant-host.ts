import { type Db, MongoServerError } from 'mongodb';
import { ValidationError } from '../errors.ts';
import { type Bus, type Delivery, DurableConsumer, type Envelope, splitType } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import type { ParticipantDefinition } from './participant.ts';

interface Processed {
  _id: string;
  reply: Envelope;
  at: Date;
}

/**
 * Runs a participant: a durable consumer on its commands with an inbox keyed by
 * commandId. A command seen before is not handled again: its recorded reply is published
 * again (the first one may be what was lost) and the message is acked.
 */
export class ParticipantHost {
  readonly consumer: DurableConsumer;
  handled = 0;
  replayed = 0;

  constructor(
    private readonly def: ParticipantDefinition,
    private readonly bus: Bus,
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.consumer = new DurableConsumer(
      bus,
      { stream: bus.topo.streams.cmd, durable: `svc-${def.name}`, filter: bus.topo.cmdFilter(def.name) },
      (d) => this.onCommand(d),
      log.child({ service: def.name }),
    );
  }

  private get processed() {
    return this.db.collection<Processed>(`${this.def.name}_processed`);
  }

  async start(): Promise<void> {
    await this.def.setup?.(this.db);
    await this.consumer.start();
  }

  private async onCommand(d: Delivery): Promise<void> {
    const env = d.envelope;
    const { head: service, tail: name } = splitType(env.type);
    const handler = service === this.def.name ? this.def.commands[name] : undefined;
    if (!handler) {
      throw new ValidationError(
        `service ${this.def.name} has no command "${env.type}"; known: ${Object.keys(this.def.commands).join(', ')}`,
      );
    }
    const seen = await this.processed.findOne({ _id: env.id });
    if (seen) {
      await this.bus.publish(`evt.${seen.reply.type}`, seen.reply, seen.reply.id);
      this.replayed++;
      return;
    }
    const reply = await handler.handle(env.data, {
      commandId: env.id,
      sagaId: env.sagaId,
      envelope: env,
      db: this.db,
      log: d.log,
    });
    const replyEnv: Envelope = {
      id: `${env.id}:reply`,
      type: `${this.def.name}.${reply.type}`,
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: env.sagaId,
      sagaType: env.sagaType,
      correlationId: env.correlationId,
      causationId: env.id,
      traceparent: env.traceparent,
      data: reply.data,
    };
    try {
      await this.processed.insertOne({ _id: env.id, reply: replyEnv, at: new Date() });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
    await this.bus.publish(`evt.${replyEnv.type}`, replyEnv, replyEnv.id);
    this.handled++;
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    this.log.info(
      { service: this.def.name, handled: this.handled, replayed: this.replayed, ...this.consumer.stats },
      'service stopped',
    );
  }
}
