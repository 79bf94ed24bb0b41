/** What crosses between the code sandbox pool and its threads (structured clone). */

/** How a run ended: a closed set, used as a metric label. */
export type CodeRunOutcome = 'ok' | 'error' | 'timeout' | 'memory' | 'stack' | 'output_invalid' | 'output_too_large' | 'cancelled';

import type { NodeLogEntry } from '@weft/shared/model';

/** One console call of the source, as stored on the node run. */
export type CodeLogEntry = NodeLogEntry;
export type CodeLogLevel = NodeLogEntry['level'];

export interface CodeTask {
  source: string;
  /** `{input, nodes, item?, index?}` as JSON: parsed inside the sandbox. */
  dataJson: string;
  /** The sandbox's heap (QuickJS's memory limit), in MB. */
  memoryMb: number;
  /** Epoch ms: the sandbox interrupts the source at this time. */
  deadline: number;
  /** Largest returned value, in bytes of JSON. */
  maxOutputBytes: number;
  /** Console output kept, in bytes. */
  maxLogBytes: number;
}

export type CodeTaskResult =
  /** The returned value as JSON (`undefined` returned: null). */
  | { ok: true; json: string; logs: CodeLogEntry[] }
  | { ok: false; outcome: Exclude<CodeRunOutcome, 'ok' | 'cancelled'>; message: string; logs: CodeLogEntry[] };
