// The message catalogue of an app (`jetsaga contracts print`), the compatibility check against a
// saved one (`jetsaga contracts check --against <file>`), and the AsyncAPI document made from it
// (`jetsaga asyncapi`, the API's /asyncapi.json).
export {
  asyncApiFromCatalogue,
  type AsyncApiDocument,
  asyncApiOf,
  type AsyncApiOptions,
  type DeadLetterConsumer,
  deadLetterConsumersOf,
} from './asyncapi.ts';
export {
  type Catalogue,
  type CatalogueMessage,
  catalogueOf,
  type ContractLike,
  isContract,
  jsonSchemaOf,
  type MessageKind,
  parseCatalogue,
} from './catalogue.ts';
export { breakingChanges, compareCatalogues, type Comparison, type ContractChange } from './compat.ts';
