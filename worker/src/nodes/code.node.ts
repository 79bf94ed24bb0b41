import type { CodeNode } from '@weft/shared/flow';
import { CODE_DEFAULT_MEMORY_MB } from '@weft/shared/flow';
import { expressionData } from '@weft/shared/expressions';
import type { NodeExecutor } from '@weft/shared/ports';
import type { CodeRunner } from '../code-sandbox/index.js';

export interface CodeNodeDeps {
  /** The worker's CodeSandbox. */
  code: CodeRunner;
  /** WEFT_CODE_TIMEOUT_MS, WEFT_CODE_MAX_TIMEOUT_MS, WEFT_CODE_MAX_MEMORY_MB. */
  codeLimits: { defaultTimeoutMs: number; maxTimeoutMs: number; maxMemoryMb: number };
}

/**
 * Runs the node's source over `{input, nodes, item?, index?}` (what JSONata sees) in the
 * sandbox; its output is the returned value, its console lines go on the run. A flow written
 * under a larger ceiling than this worker's gets this worker's ceiling (and a warning).
 */
export function createCodeNodeExecutor(deps: CodeNodeDeps): NodeExecutor<CodeNode> {
  const { code, codeLimits } = deps;
  return async (ctx) => {
    const { node } = ctx;
    const askedMemory = node.memoryMb ?? CODE_DEFAULT_MEMORY_MB;
    const askedTime = node.timeoutMs ?? codeLimits.defaultTimeoutMs;
    const memoryMb = Math.min(askedMemory, codeLimits.maxMemoryMb);
    const timeoutMs = Math.min(askedTime, codeLimits.maxTimeoutMs);
    if (memoryMb < askedMemory || timeoutMs < askedTime) {
      ctx.logger.warn({ askedMemory, memoryMb, askedTime, timeoutMs }, "code node asks more than this worker's ceilings: run within them");
    }
    const result = await code.run({
      source: node.source, data: expressionData(ctx), memoryMb, timeoutMs, what: `code node '${node.id}'`, signal: ctx.signal, log: ctx.logger,
    });
    return {
      output: result.output,
      resolvedInput: null,
      usage: null,
      cost: null,
      provider: null,
      model: null,
      ...(result.logs.length > 0 ? { logs: result.logs } : {}),
    };
  };
}
