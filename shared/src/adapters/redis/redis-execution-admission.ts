import type { Redis } from 'ioredis';
import type { EventDraft } from '../../model/index.js';
import type { AdmitResult, ExecutionAdmission } from '../../ports/execution-admission.js';
import { EVENT_STREAM_MAXLEN, eventsChannel, executionKeys, inFlightKey } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';
import { eventBody } from './redis-event-bus.js';

/**
 * The in-flight cap in Redis: one set of execution ids per workspace. `admit` is one script
 * (admit-execution.lua) that checks the cap, adds the id and publishes execution.queued.
 */
export class RedisExecutionAdmission implements ExecutionAdmission {
  private readonly scripts: WeftScripts;

  constructor(private readonly options: { redis: Redis; prefix: string }) {
    this.scripts = defineWeftScripts(options.redis);
  }

  async admit(input: { workspaceId: string; executionId: string; max: number; event: EventDraft | null }): Promise<AdmitResult> {
    const { prefix } = this.options;
    const reply = await this.scripts.weftAdmitExecution(
      [inFlightKey(prefix, input.workspaceId), executionKeys(prefix, input.executionId).events],
      [input.executionId, input.max, eventsChannel(prefix, input.workspaceId), EVENT_STREAM_MAXLEN, input.event ? eventBody(input.event) : ''],
    );
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) throw new Error('admit-execution: malformed reply');
    return reply[0] === 1 ? { admitted: true } : { admitted: false, inFlight: Number(reply[1]) };
  }

  async readmit(input: { workspaceId: string; executionId: string }): Promise<void> {
    await this.options.redis.sadd(inFlightKey(this.options.prefix, input.workspaceId), input.executionId);
  }

  async release(input: { workspaceId: string; executionId: string }): Promise<void> {
    await this.options.redis.srem(inFlightKey(this.options.prefix, input.workspaceId), input.executionId);
  }

  async withdraw(input: { workspaceId: string; executionId: string }): Promise<void> {
    const { redis, prefix } = this.options;
    await redis.multi().srem(inFlightKey(prefix, input.workspaceId), input.executionId).del(executionKeys(prefix, input.executionId).events).exec();
  }

  async listInFlight(): Promise<Array<{ workspaceId: string; executionIds: string[] }>> {
    const { redis, prefix } = this.options;
    const head = `${prefix}:inflight:{`;
    const out: Array<{ workspaceId: string; executionIds: string[] }> = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*}`, 'COUNT', 200);
      cursor = next;
      for (const key of keys) {
        const executionIds = await redis.smembers(key);
        if (executionIds.length > 0) out.push({ workspaceId: key.slice(head.length, -1), executionIds });
      }
    } while (cursor !== '0');
    return out;
  }

  inFlight(workspaceId: string): Promise<number> {
    return this.options.redis.scard(inFlightKey(this.options.prefix, workspaceId));
  }
}
