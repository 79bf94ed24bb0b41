import { describe, expect, it } from 'vitest';
import { executionJobId, mapTimeoutJobId, nodeJobId, taskReportJobId, waitJobId } from '../../jobs/index.js';
import { ALL_QUEUES, isShardedQueue, jobShardKey, NODE_QUEUES, QUEUES, schedulerTickJobId } from '../../ports/job-queue.js';
import {
  allShards, allSlotEventsChannels, bullPrefix, CLUSTER_SLOTS, clusterSlot, eventsChannelArg, executionEventsChannel, executionKeys, flushStreamKey,
  shardOf, shardTag, slotEventsChannel,
} from './keys.js';

describe('queue shards', () => {
  it('one shard keeps the keys of a single Redis as they were', () => {
    expect(bullPrefix('weft')).toBe('{weft}');
    expect(bullPrefix('weft', 0, 1)).toBe('{weft}');
    expect(flushStreamKey('weft')).toBe('weft:flush');
    expect(flushStreamKey('weft', 0, 1)).toBe('weft:flush');
    expect(shardOf('anything', 1)).toBe(0);
    expect(allShards(1)).toEqual([0]);
  });

  it('names each shard by a hash tag of its own, shared by its queues and its flush stream', () => {
    expect(shardTag('weft', 3)).toBe('{weft:3}');
    expect(bullPrefix('weft', 3, 4)).toBe('{weft:3}');
    expect(flushStreamKey('weft', 3, 4)).toBe('weft:flush:{weft:3}');
    // An unsharded queue keeps `{weft}` whatever the shard count.
    expect(bullPrefix('weft', undefined, 4)).toBe('{weft}');
    expect(allShards(4)).toEqual([0, 1, 2, 3]);
  });

  it('is stable: pinned values, so that producers and consumers of every release agree', () => {
    // FNV-1a 32 of the id's code units, modulo the shard count.
    expect(['a', 'b', 'exec-1', '01JABCDEF'].map((id) => shardOf(id, 4))).toEqual(
      ['a', 'b', 'exec-1', '01JABCDEF'].map((id) => fnv1a(id) % 4),
    );
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(shardOf('a', 1000)).toBe(0xe40c292c % 1000);
  });

  it('spreads ids over every shard, in range', () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 400; i++) {
      const shard = shardOf(`01HZX${i.toString(36).padStart(8, '0')}`, 4);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(4);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const n of counts) expect(n).toBeGreaterThan(50);
  });

  it('shards every job of an execution by the execution id, whatever queue it is in', () => {
    const id = 'ex1';
    const spell = '2025-01-01T00:00:00.000Z';
    for (const jobId of [
      executionJobId(id), nodeJobId(id, 'n'), nodeJobId(id, 'n', 2), mapTimeoutJobId(id, 'm', 1),
      waitJobId({ executionId: id, nodeId: 'w', kind: 'timer', waitingSince: spell }),
      taskReportJobId({ executionId: id, nodeId: 't', attempt: 1, waitingSince: spell }), `${nodeJobId(id, 'n')}.dead`,
    ]) {
      expect(jobShardKey(jobId), jobId).toBe(id);
    }
    expect(jobShardKey(schedulerTickJobId('sched-1', 1_700_000_000_000))).toBe('sched-1');
  });

  it('shards the execution-scoped queues only; new queues are sharded unless listed', () => {
    expect(ALL_QUEUES.filter(isShardedQueue).sort()).toEqual([QUEUES.executions, QUEUES.nodes, QUEUES.resume, ...NODE_QUEUES].sort());
  });

  it('keeps an execution\'s own keys under its id\'s tag, apart from the shards', () => {
    expect(executionKeys('weft', 'ex1').meta).toBe('weft:{ex1}:meta');
  });
});

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

describe('sharded events channels', () => {
  it('computes Redis Cluster slots (CRC16 of the hash tag), as CLUSTER KEYSLOT does', () => {
    // Values answered by `redis-cli cluster keyslot` on Redis 7.
    expect(clusterSlot('k:{abc}')).toBe(7638);
    expect(clusterSlot('{a}')).toBe(15495);
    expect(clusterSlot('b')).toBe(3300);
    expect(clusterSlot('123456789')).toBe(12739);
    // An empty tag hashes the whole key; only the first tag counts.
    expect(clusterSlot('{}abc')).toBe(5980);
    expect(clusterSlot('x{a}{b}')).toBe(15495);
  });

  it('names one channel per slot, in that slot; an execution publishes in its own keys\' slot', () => {
    const channels = allSlotEventsChannels('weft');
    expect(channels).toHaveLength(CLUSTER_SLOTS);
    expect(new Set(channels).size).toBe(CLUSTER_SLOTS);
    for (const slot of [0, 1, 7638, 16383]) expect(clusterSlot(slotEventsChannel('weft', slot))).toBe(slot);
    const id = '01HZXEXECUTION';
    expect(clusterSlot(executionEventsChannel('weft', id))).toBe(clusterSlot(executionKeys('weft', id).meta));
    expect(eventsChannelArg('weft', { executionId: id }, true)).toBe(`!${executionEventsChannel('weft', id)}`);
    expect(eventsChannelArg('weft', { executionId: id }, false)).toBe('weft:events:');
    expect(eventsChannelArg('weft', { executionId: id, workspaceId: 'ws' }, false)).toBe('weft:events:ws');
  });
});
