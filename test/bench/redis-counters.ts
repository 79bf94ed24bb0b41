/**
 * Server-side Redis counters around a run: INFO commandstats (calls per command, including the
 * commands Lua scripts run) and INFO stats (bytes in and out).
 */
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  calls: Map<string, number>;
  netInputBytes: number;
  netOutputBytes: number;
}

export interface RedisUsage {
  /** Every command executed, in-script ones included (INFO and the bench's own reads excluded). */
  commands: number;
  /** EVAL/EVALSHA calls: one client round trip each. */
  scriptCalls: number;
  byCommand: Map<string, number>;
  netInputBytes: number;
  netOutputBytes: number;
}

/** The bench's own commands on its stats connection, left out of the counts. */
const OWN_COMMANDS: ReadonlySet<string> = new Set(['info', 'monitor', 'ping', 'client|setname', 'client|getname', 'client|setinfo', 'hello']);

export async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const text = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match?.[1] && match[2]) calls.set(match[1], Number(match[2]));
  }
  const stats = await redis.info('stats');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return { calls, netInputBytes: field('total_net_input_bytes'), netOutputBytes: field('total_net_output_bytes') };
}

export function redisUsage(before: RedisSnapshot, after: RedisSnapshot): RedisUsage {
  const byCommand = new Map<string, number>();
  let commands = 0;
  for (const [name, calls] of after.calls) {
    if (OWN_COMMANDS.has(name)) continue;
    const delta = calls - (before.calls.get(name) ?? 0);
    if (delta <= 0) continue;
    byCommand.set(name, delta);
    commands += delta;
  }
  return {
    commands,
    scriptCalls: (byCommand.get('evalsha') ?? 0) + (byCommand.get('eval') ?? 0),
    byCommand,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
  };
}

function total(snapshot: RedisSnapshot): number {
  let n = 0;
  for (const [name, calls] of snapshot.calls) if (!OWN_COMMANDS.has(name)) n += calls;
  return n;
}

/**
 * A snapshot taken once the server has run at most `idleCommands` commands (idle workers poll)
 * but the bench's own for `quietMs`: a run's trailing work, such as Weft's flush to Postgres, is
 * then counted. Or after `maxMs`.
 */
export async function settledSnapshot(redis: Redis, options: { quietMs: number; maxMs: number; idleCommands: number }): Promise<RedisSnapshot> {
  const deadline = performance.now() + options.maxMs;
  let last = await redisSnapshot(redis);
  for (;;) {
    await new Promise((r) => setTimeout(r, options.quietMs));
    const next = await redisSnapshot(redis);
    if (total(next) - total(last) <= options.idleCommands || performance.now() > deadline) return next;
    last = next;
  }
}
