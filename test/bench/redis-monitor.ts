/**
 * Client round trips versus in-script work, from Redis MONITOR: in Redis 7 MONITOR lists commands
 * in execution order, a MULTI block as `multi`, its commands, then `exec`, and the commands a Lua
 * script runs (source `lua`) right after the script call. Scripts are named by their SHA1, from
 * the sources Weft and BullMQ load. MONITOR slows Redis down, so this runs apart from the timed runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { readLuaScript } from '../../shared/src/adapters/redis/lua/scripts.js';
import { withTimeout } from './waits.js';

export interface MonitorCounts {
  /** Client commands, a MULTI…EXEC block counted once. Pipelines cannot be seen: an upper bound. */
  roundTrips: number;
  /** Commands run by Lua scripts. */
  inScript: number;
  /** Round trips by label (`evalsha moveToFinished`, `multi[xadd]`, `bzpopmin`…). */
  clientByLabel: Map<string, number>;
  /** Bytes of the arguments sent, by the same labels (as MONITOR prints them: escaped). */
  clientBytesByLabel: Map<string, number>;
  /** In-script commands by script and command (`weftCommitNode: hset`). */
  scriptByLabel: Map<string, number>;
}

export interface MonitorSession {
  stop(): Promise<MonitorCounts>;
}

/**
 * SHA1 → script name, for Weft's scripts and every script BullMQ ships. Read it when the engine
 * loads its scripts: a script edited later no longer matches (its calls then show as `sha …`).
 */
export function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  const sha = (source: string): string => createHash('sha1').update(source).digest('hex');
  const weftLua = new URL('../../shared/src/adapters/redis/lua/', import.meta.url);
  for (const file of readdirSync(weftLua).filter((f) => f.endsWith('.lua'))) {
    const base = file.slice(0, -'.lua'.length).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
    try {
      names.set(sha(readLuaScript(file)), `weft${base.charAt(0).toUpperCase()}${base.slice(1)}`);
    } catch {
      // A script being edited (a missing include): its calls show as `sha …`.
    }
  }
  const require = createRequire(import.meta.url);
  const bull = require('bullmq/dist/cjs/scripts/index.js') as Record<string, { name?: unknown; content?: unknown }>;
  for (const script of Object.values(bull)) {
    if (typeof script.name === 'string' && typeof script.content === 'string') names.set(sha(script.content), script.name);
  }
  return names;
}

const IGNORED = new Set(['hello', 'info', 'client', 'ping', 'select', 'monitor']);

/**
 * Counts the commands whose arguments contain one of `keyMarkers` (the key prefixes of the
 * system under test), so the idle loops of other systems on the same server are left out.
 */
export async function startMonitor(input: { redisUrl: string; keyMarkers: readonly string[]; names: ReadonlyMap<string, string> }): Promise<MonitorSession> {
  const { names } = input;
  const counts: MonitorCounts = { roundTrips: 0, inScript: 0, clientByLabel: new Map(), clientBytesByLabel: new Map(), scriptByLabel: new Map() };
  const add = (map: Map<string, number>, label: string, n = 1): void => { map.set(label, (map.get(label) ?? 0) + n); };
  const size = (args: readonly string[]): number => args.reduce((sum, a) => sum + a.length, 0);
  const relevant = (args: readonly string[]): boolean => args.some((a) => input.keyMarkers.some((marker) => a.includes(marker)));

  /** The script whose in-script commands come next, when it is ours to count; null otherwise. */
  let script: string | null = null;
  /** Open MULTI blocks by client: their commands so far, and whether one was ours. */
  const blocks = new Map<string, { labels: string[]; bytes: number; ours: boolean }>();

  const scriptName = (command: string, args: readonly string[]): string =>
    command === 'evalsha' ? (names.get(args[1] ?? '') ?? `sha ${(args[1] ?? '').slice(0, 8)}`) : 'eval (script load)';

  const onCommand = (args: string[], source: string): void => {
    const command = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      if (script !== null) {
        counts.inScript += 1;
        add(counts.scriptByLabel, `${script}: ${command}`);
      }
      return;
    }
    const isScript = command === 'evalsha' || command === 'eval';
    const block = blocks.get(source);
    if (command === 'multi') {
      blocks.set(source, { labels: [], bytes: 0, ours: false });
      script = null;
      return;
    }
    if (command === 'exec' || command === 'discard') {
      blocks.delete(source);
      script = null;
      if (block?.ours) {
        const label = `multi[${summarize(block.labels)}]`;
        counts.roundTrips += 1;
        add(counts.clientByLabel, label);
        add(counts.clientBytesByLabel, label, block.bytes);
      }
      return;
    }
    const ours = relevant(args);
    const label = isScript ? `${command} ${scriptName(command, args)}` : command;
    script = isScript && ours ? scriptName(command, args) : null;
    if (block) {
      block.labels.push(label);
      block.bytes += size(args);
      block.ours ||= ours;
      return;
    }
    if (!ours || IGNORED.has(command)) return;
    counts.roundTrips += 1;
    add(counts.clientByLabel, label);
    add(counts.clientBytesByLabel, label, size(args));
  };

  let endMarker: { text: string; seen: () => void } | null = null;
  const socket = await openRedisSocket(input.redisUrl, ['MONITOR'], (line) => {
    if (endMarker && line.includes(endMarker.text)) endMarker.seen();
    const parsed = parseMonitorLine(line);
    if (parsed) onCommand(parsed.args, parsed.source);
  });
  return {
    async stop() {
      try {
        // The last commands' lines may still be on their way when the run ends. Redis runs one
        // command at a time: once a marker sent now is seen, every earlier line has been read.
        const text = `bench-monitor-end-${randomBytes(6).toString('hex')}`;
        const seen = new Promise<void>((resolve) => { endMarker = { text, seen: resolve }; });
        const echo = await openRedisSocket(input.redisUrl, ['ECHO', text], () => undefined);
        try {
          await withTimeout(seen, 5000, 'MONITOR end marker');
        } finally {
          echo.destroy();
        }
      } finally {
        socket.destroy();
      }
      return counts;
    },
  };
}

/**
 * A bare connection that authenticates from the URL and sends one command: MONITOR is read
 * without a client library, whose command queue gets in the way (ioredis can take the first
 * streamed line for the reply to MONITOR when both arrive in one read). Resolves once the
 * command is answered; later lines (MONITOR's stream) go to `onLine`.
 */
async function openRedisSocket(redisUrl: string, command: readonly string[], onLine: (line: string) => void): Promise<Socket> {
  const url = new URL(redisUrl);
  const socket = connect(Number(url.port || 6379), url.hostname);
  const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const setup: string[] = [];
  if (url.password) setup.push(url.username ? resp('AUTH', decodeURIComponent(url.username), decodeURIComponent(url.password)) : resp('AUTH', decodeURIComponent(url.password)));
  setup.push(resp(...command));
  let replies = 0;
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => { socket.write(setup.join('')); });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let end = buffered.indexOf('\r\n');
      while (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\r\n');
        if (line.startsWith('-')) {
          reject(new Error(`redis refused ${command[0] ?? ''}: ${line.slice(1)}`));
        } else if (replies < setup.length) {
          // +OK, or ECHO's bulk string ($n, then the text on a line of its own).
          if (line.startsWith('$')) continue;
          replies += 1;
          if (replies === setup.length) resolve();
        } else if (line.startsWith('+')) {
          onLine(line.slice(1));
        }
      }
    });
  });
  socket.on('error', () => undefined);
  return socket;
}

/** `1712345678.123456 [0 127.0.0.1:5000] "evalsha" "ab12…" "7"` → args (still escaped) and source. */
export function parseMonitorLine(line: string): { source: string; args: string[] } | null {
  const match = /^\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!match?.[1] || match[2] === undefined) return null;
  const args: string[] = [];
  const text = match[2];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') { i += 1; continue; }
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    args.push(text.slice(i + 1, j));
    i = j + 1;
  }
  return { source: match[1], args };
}

function summarize(labels: readonly string[]): string {
  const tally = new Map<string, number>();
  for (const label of labels) tally.set(label, (tally.get(label) ?? 0) + 1);
  return [...tally].map(([label, n]) => (n === 1 ? label : `${label} ×${n}`)).join(', ');
}
