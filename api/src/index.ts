/** The api as a library: what a composition root (the api's main, the embedded process) builds. */
export { buildApp } from './app.js';
export type { ApiDeps, ReadinessCheck } from './deps.js';
