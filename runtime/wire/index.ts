// Wire types: the shapes of what travels on the bus, shared by every layer and depending on none.
export {
  type Envelope,
  envelope,
  type EnvelopeFields,
  EnvelopeSchema,
  Header,
  idPattern,
  newTraceparent,
  splitType,
} from './envelope.ts';
