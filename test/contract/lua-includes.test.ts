/**
 * The Lua include mechanism: includes may include others, and a script gets each file once, at
 * its first (earliest) inclusion, so every helper is declared before use and exactly once.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readLuaScript } from '../../shared/src/adapters/redis/lua/scripts.js';

const LUA_DIR = new URL('../../shared/src/adapters/redis/lua/', import.meta.url);
const scripts = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));

describe('Lua includes', () => {
  it.each(scripts)('%s: every include inlined, no local function declared twice', (file) => {
    const source = readLuaScript(file);
    expect(source).not.toMatch(/^--- @include /m);
    const declared = [...source.matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]);
    expect(declared.filter((name, i) => declared.indexOf(name) !== i)).toEqual([]);
  });

  it('commit-node.lua declares the graph helpers before the map helpers that use them', () => {
    const source = readLuaScript('commit-node.lua');
    const at = (name: string): number => source.indexOf(`local function ${name}(`);
    expect(at('appendEvent')).toBeGreaterThanOrEqual(0);
    expect(at('appendEvent')).toBeLessThan(at('skipNode'));
    expect(at('skipNode')).toBeLessThan(at('releaseItem'));
    expect(at('releaseItem')).toBeLessThan(at('mapResultJson'));
    expect(at('mapResultJson')).toBeLessThan(at('endMap'));
    expect(at('queuedItemNodes')).toBeLessThan(at('healReady'));
  });
});
