/** Fan-in rows: a map of W items then a join (last item completed → join started), against a BullMQ FlowProducer flow. */
import { fanInDelay } from './chain-phases.js';
import { traceOne, type BenchContext } from './context.js';
import { FAN_JOIN_ID, FAN_MAP_ID, fanIn } from './flows.js';
import { startFanInBaseline } from './flow-producer.js';
import { runInterleaved } from './interleave.js';

export async function fanInRows(ctx: BenchContext): Promise<void> {
  const { options, services } = ctx;
  const baseline = await startFanInBaseline({ redisUrl: services.redisUrl, prefix: services.prefix, concurrency: options.concurrency * options.workers, timeoutMs: options.timeoutMs });
  try {
    for (const width of options.fanInWidths) {
      const flowId = await ctx.stack.createFlow(fanIn(width));
      const weftOnce = async (): Promise<number> => {
        const { marks } = await traceOne(ctx, { flowId, what: `weft fan-in of ${width}` });
        return fanInDelay(marks, FAN_MAP_ID, FAN_JOIN_ID) ?? Number.NaN;
      };
      ctx.progress(`fan-in ${width}: warm-up`);
      await weftOnce();
      await baseline.run(width);
      const [weft = [], base = []] = await runInterleaved<number>({
        reps: options.reps,
        onRun: (name, rep) => { ctx.progress(`fan-in ${width} ${rep + 1}/${options.reps}: ${name}`); },
        contenders: [
          { name: 'weft', run: weftOnce },
          { name: 'FlowProducer', run: () => baseline.run(width) },
        ],
      });
      ctx.rows.push({
        metric: `fan-in of W = ${width} (a map of ${width} items), last item completed → join started`,
        unit: 'ms', baselineName: 'BullMQ FlowProducer, last child completed → parent started',
        weft, baseline: base,
        ...(width === 1000 ? { target: { on: 'weft' as const, op: '<=' as const, value: 1 } } : {}),
      });
    }
  } finally {
    await baseline.close();
  }
}
