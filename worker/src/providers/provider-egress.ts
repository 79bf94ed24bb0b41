/**
 * How the worker builds its LLM providers: every SDK sends through a fetch that judges each
 * connection by the workspace's address policy and caps what a response may make the worker
 * hold. The credential's `baseUrl` is chosen by the tenant, so it gets the wall an http node's
 * URL gets: loopback, private, CGNAT and link-local only when the workspace allows private
 * networks, cloud metadata never.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LookupFunction } from 'node:net';
import type { Agent } from 'undici';
import type { WeftError } from '@weft/shared/errors';
import type { LlmProviderName } from '@weft/shared/flow';
import type { LlmCredential, LlmProvider, LlmStreamPart } from '@weft/shared/ports';
import { createEgressAgent } from '../http-client/egress-agent.js';
import type { EgressPolicy } from '../nodes/sources.js';
import { createEgressFetch, type ProviderFetch } from './egress-fetch.js';

/** Builds a provider whose every call goes through the workspace's egress policy. */
export type ProviderFactory = (name: LlmProviderName, credential: LlmCredential, egress: EgressPolicy) => LlmProvider;

export interface ProviderEgressOptions {
  /** WEFT_LLM_MAX_OUTPUT_BYTES: the response cap is derived from it (responseCapBytes). */
  readonly maxOutputBytes: number;
  /** Resolver, `dns.lookup` by default; injected by tests. Its answers are always checked. */
  readonly lookup?: LookupFunction;
  /** The adapters over the SDKs (`createProvider`), handed the guarded fetch. */
  readonly createAdapter: (name: LlmProviderName, credential: LlmCredential, options: { fetch: ProviderFetch }) => LlmProvider;
}

/** What one call's guarded fetch reported, first failure only. */
interface CallSlot {
  failure: WeftError | null;
}

const callSlot = new AsyncLocalStorage<CallSlot>();

/** Room for the JSON around an answer: envelope, usage, and escaping (`\n`, `\uXXXX`). */
const RESPONSE_OVERHEAD_FACTOR = 4;
const RESPONSE_OVERHEAD_BYTES = 64 * 1024;

/**
 * The cap on a provider's response body (and on one line of a stream): 4 × the answer cap +
 * 64 KiB. An answer within WEFT_LLM_MAX_OUTPUT_BYTES always fits, however it is escaped.
 */
export function responseCapBytes(maxOutputBytes: number): number {
  return RESPONSE_OVERHEAD_FACTOR * maxOutputBytes + RESPONSE_OVERHEAD_BYTES;
}

export class ProviderEgress {
  /** One dispatcher per policy, shared by every call of this worker so connections are pooled. */
  private readonly agents = new Map<boolean, Agent>();
  private readonly maxResponseBytes: number;

  constructor(private readonly options: ProviderEgressOptions) {
    this.maxResponseBytes = responseCapBytes(options.maxOutputBytes);
  }

  private agentFor(egress: EgressPolicy): Agent {
    const key = egress.allowPrivateNetworks;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      // Metadata endpoints stay refused whatever the workspace allows.
      const policy = { allowPrivateNetworks: key, allowMetadataEndpoints: false };
      agent = createEgressAgent({ policy, ...(this.options.lookup === undefined ? {} : { lookup: this.options.lookup }) });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /**
   * A provider sending through the workspace's egress policy. It may be kept and shared by
   * concurrent calls (the worker caches one per workspace and provider): the SDKs wrap whatever
   * their fetch throws in their own connection errors, so the error the fetch reported (a refused
   * address, a response over the cap) is recorded in a slot of the call that made the request
   * (AsyncLocalStorage carries it into the SDK's fetch), and that call throws it instead, with
   * its own code.
   */
  readonly create: ProviderFactory = (name, credential, egress) => {
    const fetch = createEgressFetch({
      provider: name,
      dispatcher: this.agentFor(egress),
      maxResponseBytes: this.maxResponseBytes,
      onFailure: (error) => {
        const slot = callSlot.getStore();
        if (slot) slot.failure ??= error;
      },
    });
    const inner = this.options.createAdapter(name, credential, { fetch });
    return {
      name: inner.name,
      async complete(request, signal) {
        const slot: CallSlot = { failure: null };
        try {
          return await callSlot.run(slot, () => inner.complete(request, signal));
        } catch (err) {
          throw slot.failure ?? err;
        }
      },
      async *stream(request, signal): AsyncGenerator<LlmStreamPart> {
        const slot: CallSlot = { failure: null };
        // The generator's body runs in the context of whoever resumes it: each step is resumed in the slot's.
        const parts = callSlot.run(slot, () => inner.stream(request, signal)[Symbol.asyncIterator]());
        try {
          for (;;) {
            const step = await callSlot.run(slot, () => parts.next());
            if (step.done === true) return;
            yield step.value;
          }
        } catch (err) {
          throw slot.failure ?? err;
        } finally {
          // Left early (the caller stopped reading): the SDK's stream closes, and its connection. A
          // failure to close never hides what the call itself threw.
          await callSlot.run(slot, async () => { await parts.return?.(); }).catch(() => undefined);
        }
      },
    };
  };

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }
}
