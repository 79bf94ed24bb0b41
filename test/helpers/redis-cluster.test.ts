import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { startPrivateRedisCluster, type PrivateRedisCluster } from './private-services.js';

describe('the private Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  });
  afterAll(() => {
    client.disconnect();
    cluster.destroy();
  });

  it('has three masters that share the slots, so keys with different hash tags spread', async () => {
    await client.set('{probe}:a', '1');
    const masters = client.nodes('master');
    expect(masters).toHaveLength(3);
    for (let i = 0; i < 60; i++) await client.set(`{tag-${String(i)}}:k`, String(i));
    const sizes = await Promise.all(masters.map((m) => m.dbsize()));
    expect(sizes.filter((n) => n > 0)).toHaveLength(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(61);
  });

  it('runs a script over keys of one hash tag and refuses keys of two (CROSSSLOT)', async () => {
    const script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return 1";
    await expect(client.eval(script, 2, '{x}:a', '{x}:b', 'v')).resolves.toBe(1);
    await expect(client.eval(script, 2, '{x}:a', '{y}:b', 'v')).rejects.toThrow(/CROSSSLOT/);
  });
});
