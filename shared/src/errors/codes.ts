// The catalog is model data (model/error-codes.ts); errors/ builds the error classes on it.
export * from '../model/error-codes.js';
