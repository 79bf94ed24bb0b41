export * from './codes.js';
export * from './weft-error.js';
