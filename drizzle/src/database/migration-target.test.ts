import { describe, expect, it } from 'vitest';
import { pgliteDataDir, resolveMigrationTarget } from './migration-target.js';

describe('resolveMigrationTarget', () => {
  it('migrates DATABASE_URL alone, without the variables only the services need', () => {
    expect(resolveMigrationTarget({ DATABASE_URL: 'postgres://u@h:5432/db', LOG_LEVEL: 'warn' }))
      .toEqual({ url: 'postgres://u@h:5432/db', logLevel: 'warn' });
  });

  it('uses the full config when it is complete', () => {
    const env = {
      DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379',
      WEFT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), WEFT_ADMIN_TOKEN: 'a'.repeat(20),
    };
    expect(resolveMigrationTarget(env)).toEqual({ url: 'postgres://u@h/db', logLevel: 'info' });
  });

  it("falls back to embedded mode's PGlite folder", () => {
    expect(resolveMigrationTarget({ WEFT_DATA_DIR: '/tmp/weft-x' })).toEqual({ dataDir: pgliteDataDir('/tmp/weft-x'), logLevel: 'info' });
    expect(pgliteDataDir('/tmp/weft-x')).toBe('/tmp/weft-x/pgdata');
  });

  it('still reports problems with what migrations use', () => {
    expect(() => resolveMigrationTarget({ DATABASE_URL: 'mysql://h/db' })).toThrow(/DATABASE_URL/);
    expect(() => resolveMigrationTarget({ DATABASE_URL: 'postgres://h/db', LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
