export * from './rotate-master-key.js';
