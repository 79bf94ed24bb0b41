export { createNodeSources, type NodeSourcesOptions } from './node-sources.js';
export { LastKnown } from './last-known.js';
export { PriceBook } from './price-book.js';
