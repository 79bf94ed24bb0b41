export * from './api-keys.js';
export * from './secret-box.js';
