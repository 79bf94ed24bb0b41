/** JSONata as Weft runs it: compiled once per source, over `{input, nodes, item?, index?}`. */
export * from './expression-cache.js';
export * from './expression-data.js';
