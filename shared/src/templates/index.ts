export * from './types.js';
export * from './parse-template.js';
export * from './collect-refs.js';
export * from './resolve-template-ref.js';
export * from './render-template.js';
export * from './render-template-value.js';
export * from './vault-ref-names.js';
export * from './json-leaves.js';
