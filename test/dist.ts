import type { App } from '../runtime/app.ts';
import referenceApp from '../app.ts';

/** The app under test: this repository's reference app (sagas, participants, the fraud agent). */
export const appForTests: App = referenceApp;
