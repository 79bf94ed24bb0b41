/** Both ControlBus adapters deliver cancel, key-revocation and provider-client messages whole, with or without a node or key filter. */
import { describe, expect, it } from 'vitest';
import { MemoryControlBus } from '../../shared/src/adapters/memory/memory-control-bus.js';
import { controlChannel, RedisControlBus } from '../../shared/src/adapters/redis/redis-control-bus.js';
import type { ControlBus, ControlMessage } from '../../shared/src/ports/control-bus.js';
import { redisForSuite } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const MESSAGES: ControlMessage[] = [
  { type: 'cancel', executionId: 'e1' },
  { type: 'cancel', executionId: 'e2', nodeIds: ['m[0].ask', 'm[3].ask'] },
  { type: 'api-keys-revoked', workspaceId: 'w1', keyIds: ['k1'] },
  { type: 'api-keys-revoked', workspaceId: 'w2' },
  { type: 'provider-clients-invalidated', reason: 'credential', workspaceId: 'w1', provider: 'openai-compatible' },
  { type: 'provider-clients-invalidated', reason: 'egress', workspaceId: 'w2' },
];

async function expectDelivery(bus: ControlBus, publishRaw?: (text: string) => Promise<unknown>): Promise<void> {
  const received: ControlMessage[] = [];
  const unsubscribe = await bus.subscribe((message) => received.push(message));
  if (publishRaw) {
    await publishRaw('not json');
    await publishRaw(JSON.stringify({ type: 'reboot', executionId: 'e0' }));
    await publishRaw(JSON.stringify({ type: 'provider-clients-invalidated', reason: 'whim', workspaceId: 'w0' }));
    await publishRaw(JSON.stringify({ type: 'provider-clients-invalidated', reason: 'credential' }));
  }
  for (const message of MESSAGES) await bus.publish(message);
  await waitFor(() => received.length >= MESSAGES.length, { timeoutMs: 3000, message: 'control messages delivered' });
  expect(received).toEqual(MESSAGES);
  await unsubscribe();
}

describe('ControlBus', () => {
  it('memory: delivers each message as published', async () => {
    const bus = new MemoryControlBus();
    await expectDelivery(bus);
    await bus.close();
  });

  describe('redis', () => {
    const suite = redisForSuite();

    it('delivers each message as published, and ignores what is not a control message', async () => {
      const bus = new RedisControlBus({ redis: suite.redis, prefix: suite.svc.prefix });
      await expectDelivery(bus, (text) => suite.redis.publish(controlChannel(suite.svc.prefix), text));
      await bus.close();
    });
  });
});
