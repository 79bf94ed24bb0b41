/**
 * Weft's Lua scripts as ioredis commands. Each script is a file next to this one (the build copies
 * `*.lua`, includes/ too); a line `--- @include "includes/x.lua"` is replaced by that file, the way
 * BullMQ shares helpers between scripts, so the event format is written once. Includes may
 * include others (each names what it builds on); a file already inlined into a script is not
 * inlined again, so a script lists what it uses and shared foundations come once, first.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../connection.js';

const SCRIPTS = {
  weftInitExecution: { file: 'init-execution.lua', keys: 8 },
  weftStartNode: { file: 'start-node.lua', keys: 7 },
  weftCommitNode: { file: 'commit-node.lua', keys: 12 },
  weftStartMap: { file: 'start-map.lua', keys: 10 },
  weftReadyAfter: { file: 'ready-after.lua', keys: 11 },
  weftTimeoutMap: { file: 'timeout-map.lua', keys: 10 },
  weftPublishEvent: { file: 'publish-event.lua', keys: 1 },
  weftAdmitExecution: { file: 'admit-execution.lua', keys: 2 },
  weftAcquireRateLimit: { file: 'acquire-rate-limit.lua', keys: 2 },
  weftReopenNodes: { file: 'reopen-nodes.lua', keys: 13 },
  weftExpireExecution: { file: 'expire-execution.lua', keys: 13 },
  weftCancelExecution: { file: 'cancel-execution.lua', keys: 9 },
  weftWaitNode: { file: 'wait-node.lua', keys: 4 },
  weftRestoreExecution: { file: 'restore-execution.lua', keys: 6 },
  weftAcquireNodeSlot: { file: 'acquire-node-slot.lua', keys: 3 },
  weftReleaseNodeSlot: { file: 'release-node-slot.lua', keys: 3 },
} as const;

export type WeftScriptName = keyof typeof SCRIPTS;

export type ScriptArg = string | number;

/** Calls a defined script: keys first (their number is fixed per script), then ARGV. */
export type WeftScripts = Record<WeftScriptName, (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>>;

const INCLUDE = /^--- @include "([^"]+)"\s*$/gm;

/** The script's source with its includes inlined, depth first, each file once. */
export function readLuaScript(file: string): string {
  return inline(file, new Set());
}

function inline(file: string, included: Set<string>): string {
  const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
  return source.replace(INCLUDE, (_line, include: string) => {
    // Lua locals must be declared before use: the first inclusion, the earliest, is the one kept.
    if (included.has(include)) return '';
    included.add(include);
    return inline(include, included);
  });
}

/**
 * Defines the scripts on `redis` (EVALSHA with EVAL fallback, handled by ioredis) and returns
 * typed callers. Defining again on the same connection is harmless: the source is the same.
 */
export function defineWeftScripts(redis: RedisClient): WeftScripts {
  const callers = {} as WeftScripts;
  for (const name of Object.keys(SCRIPTS) as WeftScriptName[]) {
    const { file, keys } = SCRIPTS[name];
    redis.defineCommand(name, { lua: readLuaScript(file), numberOfKeys: keys });
    callers[name] = (keyList, args) => {
      if (keyList.length !== keys) throw new Error(`${name} takes ${keys} keys, got ${keyList.length}`);
      // defineCommand adds the method at run time; ioredis' types cannot know it.
      const command = (redis as unknown as Record<WeftScriptName, (...a: ScriptArg[]) => Promise<unknown>>)[name];
      return command.call(redis, ...keyList, ...args);
    };
  }
  return callers;
}
