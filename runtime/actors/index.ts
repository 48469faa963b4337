export { ActorHost, type ActorHostOptions } from './actor-host.ts';
