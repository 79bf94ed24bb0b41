export * from './codes.js';
export * from './weft-error.js';
export * from './dependency-failure.js';
