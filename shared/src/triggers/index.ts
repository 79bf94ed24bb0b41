/** Schedules and inbound webhooks: cron checks and webhook signatures (architecture.md, "Triggers"). */
export * from './cron.js';
export * from './signatures.js';
