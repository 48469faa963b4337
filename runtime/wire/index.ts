// Wire types: the shapes of what travels on the bus and their contracts (versions, upcasters),
// shared by every layer and depending on errors.ts alone.
export {
  asContract,
  checkData,
  contract,
  type ContractLookup,
  type ContractOptions,
  isContract,
  issuesOf,
  type MessageContract,
  oldestAccepted,
  upcastData,
  type Upcaster,
} from './contract.ts';
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
