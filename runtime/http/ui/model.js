// @ts-check
// The API's shapes as the inspector reads them (runtime/http/schemas.ts is their source), and
// the saga status words. Dates travel as ISO 8601 strings; null means "not yet".

/**
 * @typedef {'running' | 'compensating' | 'completed' | 'compensated' | 'failed' | 'cancelled'} SagaStatus
 *
 * @typedef {object} Transition one step of a saga's history
 * @property {number} rev
 * @property {string | null} at
 * @property {{ id: string, type: string, data: unknown, causationId?: string | null }} event
 * @property {string | null} from
 * @property {string | null} to
 * @property {SagaStatus} status
 * @property {Array<{ msgId: string, type: string, data: unknown }>} commands
 * @property {{ set: Timer[], cancelled: string[] }} timers
 * @property {unknown} [context] the context after the step; absent when too large or not recorded
 * @property {{ bytes: number, limit: number }} [contextOmitted] set when it was too large to record
 *
 * @typedef {{ id: string, dueAt: string | null }} Timer
 *
 * @typedef {object} SagaReplay GET /v1/sagas/{sagaId}/replay: the history replayed through the API's definition
 * @property {boolean} reproduced
 * @property {{ rev: number, aspect: string, message: string } | null} divergence
 * @property {Array<{ rev: number, state: string | null, status: SagaStatus, context: unknown }>} steps
 *
 * @typedef {object} SagaSummary a row of GET /v1/sagas, and the `saga` and `end` events of its stream
 * @property {string} sagaId
 * @property {string} type
 * @property {number} version
 * @property {SagaStatus} status
 * @property {string | null} state
 * @property {string | null} reason
 * @property {string} correlationId
 * @property {number} rev
 * @property {string | null} createdAt
 * @property {string | null} updatedAt
 *
 * @typedef {object} SagaDetails
 * @property {{ message: string, at: string | null } | null} error
 * @property {unknown} context
 * @property {unknown} input
 * @property {Array<{ msgId: string, subject: string, type: string }>} pendingOutbox
 * @property {Timer[]} timers
 * @property {StalledCommand[]} stalled commands whose resends ran out; a resume sends them again
 * @property {string | null} endedAt
 * @property {string | null} [expiresAt] when the ended saga is purged (JETSAGA_RETENTION_MS); null: running, or kept for ever
 * @property {number | null} durationMs
 * @property {Transition[]} history
 * @property {{ self: string, history: string, events: string, definition: string }} links
 *
 * @typedef {{ commandId: string, type: string, attempts: number, since: string | null }} StalledCommand
 *
 * @typedef {SagaSummary & SagaDetails} Saga GET /v1/sagas/{sagaId}
 *
 * @typedef {{ items: SagaSummary[], nextCursor: string | null }} SagaPage
 *
 * @typedef {{ items: Array<{ type: string, versions: number[], latest: number, description: string | null }> }} SagaTypes
 *
 * @typedef {object} MachineState
 * @property {string} id dotted path from the root, as in a saga's `state`; "" for the root
 * @property {string} key
 * @property {string | null} parent
 * @property {'atomic' | 'compound' | 'parallel' | 'final' | 'history'} kind
 * @property {string | null} initial
 * @property {string[]} tags
 * @property {string | null} description
 *
 * @typedef {object} MachineTransition
 * @property {string} source
 * @property {string[]} targets
 * @property {string | null} event
 * @property {'event' | 'after' | 'always'} kind
 * @property {string | null} delay
 * @property {string | null} guard
 * @property {boolean} reenter
 *
 * @typedef {object} MachineGraph GET /v1/saga-types/{type}/versions/{version}/definition
 * @property {string} type
 * @property {number} version
 * @property {string} machineId
 * @property {MachineState[]} states
 * @property {MachineTransition[]} transitions
 *
 * @typedef {object} DeadLetter
 * @property {string} id
 * @property {string} deadLetterId
 * @property {string} consumer
 * @property {string} subject
 * @property {string | null} sagaId
 * @property {string | null} messageType
 * @property {string} reason
 * @property {string} error
 * @property {number} attempts
 * @property {string | null} at
 * @property {Record<string, string>} headers
 * @property {string} payload
 *
 * @typedef {{ items: DeadLetter[], nextCursor: string | null }} DeadLetterPage
 */

/** @type {ReadonlySet<string>} */
export const terminal = new Set(['completed', 'compensated', 'failed', 'cancelled']);

/** @type {readonly SagaStatus[]} */
export const statuses = ['running', 'compensating', 'completed', 'compensated', 'failed', 'cancelled'];
