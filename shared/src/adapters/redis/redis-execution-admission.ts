import { isCluster, scanEveryMaster, type RedisClient } from './connection.js';
import type { EventDraft } from '../../model/index.js';
import type { AdmitResult, ExecutionAdmission } from '../../ports/execution-admission.js';
import { EVENT_STREAM_MAXLEN, eventsChannelArg, executionKeys, inFlightKey } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';
import { eventBody } from './redis-event-bus.js';

/**
 * The in-flight cap in Redis: one set of execution ids per workspace. `admit` is one script
 * (admit-execution.lua) that checks the cap, adds the id and publishes execution.queued.
 */
export class RedisExecutionAdmission implements ExecutionAdmission {
  private readonly scripts: WeftScripts;

  constructor(private readonly options: { redis: RedisClient; prefix: string }) {
    this.scripts = defineWeftScripts(options.redis);
  }

  async admit(input: { workspaceId: string; executionId: string; max: number; event: EventDraft | null }): Promise<AdmitResult> {
    const { prefix, redis } = this.options;
    const inFlight = inFlightKey(prefix, input.workspaceId);
    const events = executionKeys(prefix, input.executionId).events;
    const body = input.event ? eventBody(input.event) : '';
    // On a cluster the workspace's set and the execution's stream sit in different slots, and a
    // script may touch one slot only: admit there (KEYS[2] repeats KEYS[1], nothing is appended),
    // then append the event in the execution's slot (and publish it on that slot's sharded
    // channel). One round trip more, on a cluster only.
    const split = isCluster(redis);
    const channel = eventsChannelArg(prefix, input, split);
    const reply = await this.scripts.weftAdmitExecution(
      [inFlight, split ? inFlight : events],
      [input.executionId, input.max, channel, EVENT_STREAM_MAXLEN, split ? '' : body],
    );
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) throw new Error('admit-execution: malformed reply');
    if (reply[0] !== 1) return { admitted: false, inFlight: Number(reply[1]) };
    if (split && body !== '') await this.scripts.weftPublishEvent([events], [channel, EVENT_STREAM_MAXLEN, body]);
    return { admitted: true };
  }

  async readmit(input: { workspaceId: string; executionId: string }): Promise<void> {
    await this.options.redis.sadd(inFlightKey(this.options.prefix, input.workspaceId), input.executionId);
  }

  async release(input: { workspaceId: string; executionId: string }): Promise<void> {
    await this.options.redis.srem(inFlightKey(this.options.prefix, input.workspaceId), input.executionId);
  }

  async withdraw(input: { workspaceId: string; executionId: string }): Promise<void> {
    const { redis, prefix } = this.options;
    // Two slots on a cluster: no MULTI across them. Sent together all the same.
    await Promise.all([redis.srem(inFlightKey(prefix, input.workspaceId), input.executionId), redis.del(executionKeys(prefix, input.executionId).events)]);
  }

  async listInFlight(): Promise<Array<{ workspaceId: string; executionIds: string[] }>> {
    const { redis, prefix } = this.options;
    const head = `${prefix}:inflight:{`;
    const out: Array<{ workspaceId: string; executionIds: string[] }> = [];
    for await (const { server, keys } of scanEveryMaster(redis, `${head}*}`, 200)) {
      for (const key of keys) {
        const executionIds = await server.smembers(key);
        if (executionIds.length > 0) out.push({ workspaceId: key.slice(head.length, -1), executionIds });
      }
    }
    return out;
  }

  inFlight(workspaceId: string): Promise<number> {
    return this.options.redis.scard(inFlightKey(this.options.prefix, workspaceId));
  }
}
