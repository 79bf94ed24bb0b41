/**
 * Starts private redis-server and Postgres (from PATH or Debian's postgresql bin folder) on free
 * ports in a temp folder unless REDIS_URL / DATABASE_URL are given, and stops them afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
  }
}

function which(bin: string, extraDirs: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extraDirs]) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

function pgBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root).sort().reverse().map((v) => join(root, v, 'bin'));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => { resolve(port); });
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function asPostgresUser(cmd: string, args: string[]): void {
  if (isRoot) {
    const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', quoted], { stdio: 'pipe' });
  } else {
    execFileSync(cmd, args, { stdio: 'pipe' });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Array<() => void> = [];
  let redisUrl = process.env.REDIS_URL;
  let databaseUrl = process.env.DATABASE_URL;
  const missing: string[] = [];
  const redisServer = redisUrl ? null : which('redis-server');
  const initdb = databaseUrl ? null : which('initdb', pgBinDirs());
  if (!redisUrl && !redisServer) missing.push('redis-server (apt-get install redis-server)');
  if (!databaseUrl && !initdb) missing.push('PostgreSQL initdb/pg_ctl (apt-get install postgresql)');
  if (missing.length > 0) {
    throw new Error(`Tests need REDIS_URL and DATABASE_URL, or these on PATH: ${missing.join(', ')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'weft-test-'));
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });

  if (redisServer) {
    const port = await freePort();
    execFileSync(redisServer, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'yes', '--pidfile', join(dir, 'redis.pid'), '--dir', dir,
      '--logfile', join(dir, 'redis.log'), '--maxmemory-policy', 'noeviction',
    ]);
    redisUrl = `redis://127.0.0.1:${port}`;
    const pidFile = join(dir, 'redis.pid');
    cleanups.unshift(() => {
      try { execFileSync('sh', ['-c', `kill $(cat '${pidFile}')`]); } catch { /* already gone */ }
    });
    await waitForPort(port);
  }

  if (initdb) {
    const binDir = join(initdb, '..');
    const pgDir = join(dir, 'pg');
    execFileSync('mkdir', ['-p', pgDir]);
    if (isRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
      chownSync(pgDir, uid, gid);
    }
    const port = await freePort();
    asPostgresUser(join(binDir, 'initdb'), ['-D', pgDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    asPostgresUser(join(binDir, 'pg_ctl'), ['-D', pgDir, '-l', join(pgDir, 'log'), '-o',
      `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`, '-w', 'start']);
    databaseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    cleanups.unshift(() => {
      try { asPostgresUser(join(binDir, 'pg_ctl'), ['-D', pgDir, '-m', 'immediate', 'stop']); } catch { /* already gone */ }
    });
  }

  project.provide('redisUrl', redisUrl ?? '');
  project.provide('databaseUrl', databaseUrl ?? '');
  return async () => {
    for (const fn of cleanups) fn();
    await Promise.resolve();
  };
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => { resolve(false); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

