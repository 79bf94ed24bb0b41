export * from './create-database.js';
export * from './migration-target.js';
