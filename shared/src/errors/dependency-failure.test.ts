import { describe, expect, it } from 'vitest';
import { isDependencyFailure } from './dependency-failure.js';
import { toWeftError } from './weft-error.js';

describe('isDependencyFailure', () => {
  it.each([
    ['a refused socket', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
    ['Postgres going away', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['ioredis without an offline queue', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['ioredis past its command timeout', new Error('Command timed out')],
    ['an ioredis cluster without a slot map', new Error("Cluster isn't ready and enableOfflineQueue options is false")],
    ['a closed connection, as the cause', new Error('read failed', { cause: new Error('Connection is closed.') })],
  ])('%s is a dependency failure, answered 503', (_name, err) => {
    expect(isDependencyFailure(err)).toBe(true);
    expect(toWeftError(err).code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a refused statement', Object.assign(new Error('duplicate key'), { code: '23505' })],
  ])('%s is not', (_name, err) => {
    expect(isDependencyFailure(err)).toBe(false);
  });
});
