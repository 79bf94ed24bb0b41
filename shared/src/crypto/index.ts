export * from './api-keys.js';
export * from './secret-box.js';
export * from './resume-links.js';
