/**
 * Private redis-server and Postgres processes in a temp folder, for the global setup and for
 * tests that must stop and restart a server of their own (outage tests).
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function which(bin: string, extraDirs: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extraDirs]) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

export function pgBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root).sort().reverse().map((v) => join(root, v, 'bin'));
}

export async function freePort(): Promise<number> {
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

export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
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

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function asPostgresUser(cmd: string, args: string[]): void {
  if (isRoot) {
    const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', quoted], { stdio: 'pipe' });
  } else {
    execFileSync(cmd, args, { stdio: 'pipe' });
  }
}

export interface PrivatePostgres {
  url: string;
  port: number;
  start(): void;
  stop(): void;
  /** Stops the server and removes its folder. */
  destroy(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const initdb = which('initdb', pgBinDirs());
  if (!initdb) throw new Error('PostgreSQL initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  const binDir = join(initdb, '..');
  const dir = mkdtempSync(join(tmpdir(), 'weft-pg-'));
  const pgDir = join(dir, 'pg');
  mkdirSync(pgDir);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(pgDir, uid, gid);
  }
  const port = await freePort();
  asPostgresUser(initdb, ['-D', pgDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const start = (): void => {
    asPostgresUser(join(binDir, 'pg_ctl'), ['-D', pgDir, '-l', join(pgDir, 'log'), '-o',
      `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`, '-w', 'start']);
  };
  const stop = (): void => {
    try { asPostgresUser(join(binDir, 'pg_ctl'), ['-D', pgDir, '-m', 'fast', '-w', 'stop']); } catch { /* already stopped */ }
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    destroy() {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  url: string;
  /** Stops the server (SIGTERM; with `persist`, its data is written to the AOF) and waits for it to exit. */
  stop(): void;
  /** Starts it again on the same port and folder; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open and nothing is answered, until `resume`. */
  pause(): void;
  resume(): void;
  destroy(): void;
}

/**
 * A private redis-server. With `persist` it keeps an append-only file, so that a stop and a start
 * are a restart (data kept), like Redis under docker-compose; without, a restart starts empty.
 */
export async function startPrivateRedis(options: { persist?: boolean } = {}): Promise<PrivateRedis> {
  const redisServer = which('redis-server');
  if (!redisServer) throw new Error('redis-server not found on PATH (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'weft-redis-'));
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  const launch = async (): Promise<void> => {
    execFileSync(redisServer, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', options.persist ? 'yes' : 'no',
      '--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir,
      '--logfile', join(dir, 'redis.log'), '--maxmemory-policy', 'noeviction',
    ]);
    await waitForPort(port);
  };
  const stop = (): void => {
    // The server logs its goodbye after the signal: its folder goes once the process has,
    // or the log line would recreate it under the removal (ENOTEMPTY). Twice is harmless.
    const pid = readPid(pidFile);
    if (pid !== null) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      waitSync(() => !isAlive(pid), 10_000);
    }
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: launch,
    pause() {
      const pid = readPid(pidFile);
      if (pid !== null) process.kill(pid, 'SIGSTOP');
    },
    resume() {
      const pid = readPid(pidFile);
      if (pid !== null) process.kill(pid, 'SIGCONT');
    },
    destroy() {
      const pid = readPid(pidFile);
      if (pid !== null) {
        try { process.kill(pid, 'SIGCONT'); } catch { /* already gone */ }
      }
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Blocks until `done()` or the limit (teardown is synchronous): checks every 20 ms. */
function waitSync(done: () => boolean, limitMs: number): void {
  const deadline = Date.now() + limitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!done() && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

export interface PrivateRedisCluster {
  /** One `redis://` URL per master, the seed list a cluster client starts from. */
  urls: string[];
  ports: number[];
  destroy(): void;
}

/**
 * A private Redis Cluster of `masters` redis-server processes (no replicas) on loopback, with
 * the 16384 slots spread over them by `redis-cli --cluster create`; resolves once every master
 * reports `cluster_state:ok`.
 */
export async function startPrivateRedisCluster(options: { masters?: number } = {}): Promise<PrivateRedisCluster> {
  const redisServer = which('redis-server');
  const redisCli = which('redis-cli');
  if (!redisServer || !redisCli) throw new Error('redis-server and redis-cli not found on PATH (apt-get install redis-server)');
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'weft-redis-cluster-'));
  const nodes: Array<{ port: number; pidFile: string }> = [];
  const destroy = (): void => {
    for (const node of nodes) {
      const pid = readPid(node.pidFile);
      if (pid === null) continue;
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      waitSync(() => !isAlive(pid), 10_000);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const pidFile = join(nodeDir, 'redis.pid');
      nodes.push({ port, pidFile });
      execFileSync(redisServer, [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '5000',
        '--daemonize', 'yes', '--pidfile', pidFile, '--dir', nodeDir,
        '--logfile', join(nodeDir, 'redis.log'), '--maxmemory-policy', 'noeviction',
      ]);
    }
    for (const node of nodes) await waitForPort(node.port);
    execFileSync(redisCli, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe' });
    // `create` returns once the slots are assigned; the nodes agree on the layout a little later.
    const deadline = Date.now() + 30_000;
    const clusterOk = (port: number): boolean => execFileSync(redisCli, ['-p', String(port), 'cluster', 'info']).toString().includes('cluster_state:ok');
    while (!nodes.every((n) => clusterOk(n.port))) {
      if (Date.now() > deadline) throw new Error('the private Redis Cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return { urls: nodes.map((n) => `redis://127.0.0.1:${n.port}`), ports: nodes.map((n) => n.port), destroy };
}
