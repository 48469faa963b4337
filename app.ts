/**
 * The reference app: order fulfillment, trip booking and restock, their participants, and the
 * fraud agent, written against the public package exactly as a team writes its own app. The roles
 * of this repository (and of its image) run it when no `--app` is given.
 */
import { defineApp } from 'jetsaga';
import { sagas } from './sagas/index.ts';
import { participants, reactors } from './services/index.ts';

export default defineApp({ sagas, participants, reactors });
