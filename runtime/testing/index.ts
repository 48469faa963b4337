export { type Responder, SagaTestKit } from './saga-test-kit.ts';
