/**
 * Relay row: how much later a `node.completed` event reaches a WebSocket client of the api than
 * a bare Redis subscriber (the bench's observer), against the same delay through a bare ioredis
 * subscriber → ws.send process. Both relays carry the same events at the same time; each
 * repetition runs a few chains one at a time.
 */
import type WebSocket from 'ws';
import { freePort, waitForPort } from '../helpers/private-services.js';
import { runWeftBatch, type BenchContext } from './context.js';
import { parseSeenEvent } from './event-observer.js';
import { transformChain } from './flows.js';
import { startBenchProcess } from './processes.js';
import { percentile } from './stats.js';
import { openSocket, subscribeToFlow } from './ws-client.js';

/** Full-size batches (options.chains executions at once) through both relays before the measured chains. */
const RELAY_WARM_UP_BATCHES = 3;

const key = (e: { executionId: string; type: string; nodeId: string }): string => `${e.executionId}|${e.type}|${e.nodeId}`;

export async function relayRows(ctx: BenchContext): Promise<void> {
  const { options, stack, observer } = ctx;
  const flowId = await stack.createFlow(transformChain(options.chainNodes));
  const port = await freePort();
  const relay = startBenchProcess({
    kind: 'baseline-relay', name: 'baseline relay',
    env: { PORT: String(port), REDIS_URL: ctx.services.redisUrl, BENCH_CHANNEL_PATTERN: observer.pattern },
  });
  const sockets: WebSocket[] = [];
  try {
    await waitForPort(port, 60_000);
    const direct = new Map<string, number>();
    const viaApi = new Map<string, number>();
    const viaBare = new Map<string, number>();
    const record = (into: Map<string, number>) => (message: string): void => {
      const e = parseSeenEvent(message, performance.now());
      if (e?.type === 'node.completed') into.set(key(e), e.at);
    };
    const off = observer.listen((e) => { if (e.type === 'node.completed') direct.set(key(e), e.at); });
    try {
      const api = await openSocket(`${stack.baseUrl.replace('http', 'ws')}/v1/ws`, { authorization: `Bearer ${stack.apiKey}` }, record(viaApi));
      sockets.push(api);
      await subscribeToFlow(api, flowId, 'api websocket subscription');
      sockets.push(await openSocket(`ws://127.0.0.1:${port}/`, {}, record(viaBare)));

      // Both relays start cold: a few full batches through them first, as the chain rows do
      // (V8 optimises a path over thousands of calls; one chain is a few dozen events).
      ctx.progress('relay: warm-up');
      for (let i = 0; i < RELAY_WARM_UP_BATCHES; i += 1) await runWeftBatch(ctx, { flowId, count: options.chains, what: 'weft relay warm-up' });

      const reps = options.reps;
      const weft: number[] = [];
      const bare: number[] = [];
      for (let rep = 0; rep < reps; rep += 1) {
        ctx.progress(`relay ${rep + 1}/${reps}: api and bare relay on the same events`);
        direct.clear();
        viaApi.clear();
        viaBare.clear();
        for (let i = 0; i < options.relayChains; i += 1) await runWeftBatch(ctx, { flowId, count: 1, what: 'weft relay chain' });
        // The relays may still be sending the last events: wait for them (bounded).
        const deadline = performance.now() + 5000;
        while ((viaApi.size < direct.size || viaBare.size < direct.size) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const delays = (via: Map<string, number>): number[] => [...direct].flatMap(([k, at]) => { const t = via.get(k); return t === undefined ? [] : [t - at]; });
        weft.push(percentile(delays(viaApi), 50));
        bare.push(percentile(delays(viaBare), 50));
      }
      ctx.rows.push({
        metric: 'api relay delay p50: node.completed on Redis → received by a WebSocket client (beyond a bare Redis subscriber)',
        unit: 'ms', baselineName: 'bare ioredis subscriber → ws.send',
        weft, baseline: bare,
        target: { on: 'ratio', op: '<=', value: 2 },
      });
    } finally {
      off();
    }
  } finally {
    for (const ws of sockets) ws.terminate();
    await relay.stop();
  }
}
