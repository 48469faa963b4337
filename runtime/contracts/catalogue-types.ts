/**
 * The message catalogue: every command, event and saga input an app's roles send and receive,
 * with the JSON Schema of its current version. It is what `jetsaga contracts print` writes, what
 * `jetsaga contracts check --against <file>` compares with, and what the AsyncAPI document is
 * made from. Plain JSON, so a saved catalogue (contracts/catalogue.json) is read back as is.
 */

/**
 * What a message is: a command to a service, an event from a source, the input of a saga type, or
 * a signal a saga type declares (an event the API publishes, `saga.signal.<name>`).
 */
export type MessageKind = 'command' | 'event' | 'saga-input' | 'saga-signal';

export interface CatalogueMessage {
  kind: MessageKind;
  /** `inventory.reserve`, `inventory.reserved`, `saga.started`; for a saga input, the saga type. */
  type: string;
  /** The subject it travels on, without namespace (`cmd.inventory.reserve`); null for a saga input. */
  subject: string | null;
  /** The version producers stamp now (the envelope's `schemaVersion`). */
  version: number;
  /** Older versions a receiver upcasts, oldest first (each has an upcaster to the next). */
  upcastsFrom: number[];
  /**
   * JSON Schema (draft-07, the dialect AsyncAPI schemas extend) of the current version's `data` (a saga
   * input: the body), of what a receiver accepts (zod's input side: a field with a default is
   * optional, a transform is described by what it reads). Keys sorted, `required` sorted.
   */
  schema: Record<string, unknown>;
  /** Roles that send it: `service:<name>`, `reactor:<name>`, `orchestrator`, `api`. */
  sentBy: string[];
  /** Roles that receive it, in the same form. */
  receivedBy: string[];
  description?: string;
}

export interface Catalogue {
  /** The format of this file. */
  format: 'jetsaga-catalogue/1';
  /**
   * By message type (saga inputs by `saga-input:<sagaType>`, signals by
   * `saga-signal:<sagaType>:<name>`: two types may declare one name differently), sorted.
   */
  messages: Record<string, CatalogueMessage>;
}
