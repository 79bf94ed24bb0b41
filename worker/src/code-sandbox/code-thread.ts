/**
 * The body of a code sandbox thread (run by piscina in a worker thread, see code-sandbox.ts).
 * Each run gets a fresh QuickJS instance (WASM, compiled once per thread, instantiated in about
 * a millisecond) whose linear memory is capped, so nothing of one run outlives it and a run
 * that allocates without bound is stopped by QuickJS's own limit or, failing that, by the
 * memory's maximum. The source sees only what QuickJS itself has (no require, process, timers,
 * network or file system: this build has none of them) plus a console that writes here.
 * It must load without a TypeScript loader (Node strips its types): it imports only packages,
 * and only types from Weft.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newQuickJSWASMModuleFromVariant, newVariant, shouldInterruptAfterDeadline } from 'quickjs-emscripten-core';
import type { QuickJSContext, QuickJSHandle, QuickJSSyncVariant, QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncImport from '@jitl/quickjs-wasmfile-release-sync';
import type { CodeLogEntry, CodeLogLevel, CodeTask, CodeTaskResult } from './code-task.js';

/** QuickJS's own stack bound: deep recursion fails here, well before the thread's native stack. */
export const CODE_STACK_BYTES = 256 * 1024;
const MB = 1_048_576;
const WASM_PAGE = 65_536;
/** The instance's linear memory starts at 16 MB (what the build asks) and may grow to this. */
function memoryCapBytes(memoryMb: number): number {
  return (2 * memoryMb + 16) * MB;
}
const STACK_LINES = 10;
const FILE = 'code.js';
const LEVELS: readonly CodeLogLevel[] = ['log', 'info', 'warn', 'error', 'debug'];

// Loaded as ESM, the package's default export is the variant; its CommonJS typings say otherwise.
const releaseSync = releaseSyncImport as unknown as QuickJSSyncVariant;
// The lib settings leave WebAssembly untyped here: what is used of it, by shape.
interface WasmMemory { readonly buffer: ArrayBuffer }
const wasm = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory };
}).WebAssembly;
/** Compiled once per thread; each run instantiates it afresh. */
const wasmModule = new wasm.Module(readFileSync(createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm')));

/** Gives the source a console whose calls reach `emit(level, text)`; texts are cut to `maxChars` inside. */
const CONSOLE_BOOTSTRAP = `(function (emit, maxChars) {
  const show = (v) => {
    if (typeof v === 'string') return v;
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; } catch (e) { return String(v); }
  };
  const writer = (level) => (...args) => { const text = args.map(show).join(' '); emit(level, text.length > maxChars ? text.slice(0, maxChars) : text); };
  globalThis.console = Object.freeze({ log: writer('log'), info: writer('info'), warn: writer('warn'), error: writer('error'), debug: writer('debug') });
})`;

// No parameter properties here: Node's type stripping runs this file, and they are not erasable.
class ConsoleCapture {
  readonly entries: CodeLogEntry[] = [];
  private readonly maxBytes: number;
  private left: number;
  private cut = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.left = maxBytes;
  }

  write(level: CodeLogLevel, text: string): void {
    if (this.cut) return;
    const bytes = Buffer.byteLength(text);
    if (bytes <= this.left) {
      this.entries.push({ level, message: text });
      this.left -= bytes;
      return;
    }
    // Cut on a character boundary within what is left, then mark the cut once.
    const kept = Buffer.from(text).subarray(0, this.left).toString().replace(/\uFFFD$/, '');
    if (kept.length > 0) this.entries.push({ level, message: kept });
    this.entries.push({ level: 'warn', message: `[weft] console output cut at ${this.maxBytes} bytes (WEFT_CODE_MAX_LOG_BYTES)` });
    this.cut = true;
  }
}

/** The stack lines inside the user's source, with its own line numbers (the wrapper adds one line). */
function sourceStack(stack: unknown): string {
  if (typeof stack !== 'string') return '';
  const lines: string[] = [];
  for (const line of stack.split('\n')) {
    const m = new RegExp(`^\\s*at (.*) \\(${FILE}:(\\d+):(\\d+)\\)$`).exec(line);
    if (!m) continue;
    lines.push(`    at ${m[1] ?? ''} (line ${Number(m[2]) - 1}, column ${m[3] ?? ''})`);
    if (lines.length === STACK_LINES) {
      lines.push('    …');
      break;
    }
  }
  return lines.join('\n');
}

type Failure = Extract<CodeTaskResult, { ok: false }>;

class Run {
  private readonly mod: QuickJSWASMModule;
  private readonly vm: QuickJSContext;
  private readonly task: CodeTask;
  private readonly logs: ConsoleCapture;

  constructor(input: { mod: QuickJSWASMModule; vm: QuickJSContext; task: CodeTask; logs: ConsoleCapture }) {
    this.mod = input.mod;
    this.vm = input.vm;
    this.task = input.task;
    this.logs = input.logs;
  }

  /** Whether the instance's memory reached its cap (a failed allocation leaves no error to read). */
  memoryFull(): boolean {
    return (this.mod.getWasmMemory() as unknown as WasmMemory).buffer.byteLength + 2 * MB >= memoryCapBytes(this.task.memoryMb);
  }

  fail(outcome: Failure['outcome'], message: string): Failure {
    return { ok: false, outcome, message, logs: this.logs.entries };
  }

  /** What the source threw (or what the sandbox threw at it) as a failure. */
  thrown(handle: QuickJSHandle): Failure {
    let value: unknown;
    try {
      value = this.vm.dump(handle);
    } catch {
      value = undefined;
    }
    return this.classify(value);
  }

  classify(value: unknown): Failure {
    const { name, message, stack } = (typeof value === 'object' && value !== null ? value : {}) as { name?: unknown; message?: unknown; stack?: unknown };
    if (name === 'InternalError' && message === 'interrupted') return this.timedOut();
    if (message === 'out of memory' || ((value === null || value === undefined) && this.memoryFull())) return this.outOfMemory();
    if (name === 'InternalError' && message === 'stack overflow') return this.fail('stack', `it recursed too deep (the sandbox's stack is ${CODE_STACK_BYTES / 1024} KB)`);
    const head = typeof name === 'string' && typeof message === 'string' ? `${name}: ${message}` : `threw ${JSON.stringify(value) ?? String(value)}`;
    const where = sourceStack(stack);
    return this.fail('error', where === '' ? head : `${head}\n${where}`);
  }

  outOfMemory(): Failure {
    return this.fail('memory', `it ran out of memory (memoryMb: ${this.task.memoryMb})`);
  }

  timedOut(): Failure {
    return this.fail('timeout', 'it ran past its time');
  }
}

function newConsole(vm: QuickJSContext, logs: ConsoleCapture, maxChars: number): void {
  const emit = vm.newFunction('emit', (levelHandle, textHandle) => {
    const level = vm.getString(levelHandle) as CodeLogLevel;
    logs.write(LEVELS.includes(level) ? level : 'log', vm.getString(textHandle));
  });
  const bootstrap = vm.evalCode(CONSOLE_BOOTSTRAP, 'weft-console.js').unwrap();
  vm.callFunction(bootstrap, vm.undefined, emit, vm.newNumber(maxChars)).unwrap();
}

async function execute(task: CodeTask): Promise<CodeTaskResult> {
  const logs = new ConsoleCapture(task.maxLogBytes);
  const wasmMemory = new wasm.Memory({ initial: (16 * MB) / WASM_PAGE, maximum: memoryCapBytes(task.memoryMb) / WASM_PAGE });
  const mod = await newQuickJSWASMModuleFromVariant(newVariant(releaseSync, { wasmModule, wasmMemory }));
  const runtime = mod.newRuntime();
  runtime.setMemoryLimit(task.memoryMb * MB);
  runtime.setMaxStackSize(CODE_STACK_BYTES);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(task.deadline));
  const vm = runtime.newContext();
  const run = new Run({ mod, vm, task, logs });
  try {
    // Captured before the source runs: it may replace the globals, never these.
    const parse = vm.evalCode('JSON.parse').unwrap();
    const stringify = vm.evalCode('JSON.stringify').unwrap();
    newConsole(vm, logs, task.maxLogBytes);
    const data = vm.callFunction(parse, vm.undefined, vm.newString(task.dataJson));
    if (data.error) return run.thrown(data.error);

    const compiled = vm.evalCode(`(async function ({ input, nodes, item, index }) {\n${task.source}\n})`, FILE);
    if (compiled.error) return run.thrown(compiled.error);
    if (vm.typeof(compiled.value) !== 'function') return run.fail('error', 'the source must be the body of a function');
    const called = vm.callFunction(compiled.value, vm.undefined, data.value);
    if (called.error) return run.thrown(called.error);
    // No timers or I/O exist in the sandbox: once its jobs are drained, the promise is settled or never will be.
    const jobs = runtime.executePendingJobs();
    if (jobs.error) return run.thrown(jobs.error);
    const state = vm.getPromiseState(called.value);
    if (state.type === 'pending') return run.fail('error', 'its promise never settled (the sandbox has no timers or I/O to wait for)');
    if (state.type === 'rejected') return run.thrown(state.error);
    if (vm.typeof(state.value) === 'undefined') return { ok: true, json: 'null', logs: logs.entries };

    const json = vm.callFunction(stringify, vm.undefined, state.value);
    if (json.error) {
      const failure = run.thrown(json.error);
      // A cycle or a BigInt: not JSON. A limit hit while serialising stays that limit.
      return failure.outcome === 'error' ? run.fail('output_invalid', `it returned a value that is not JSON: ${failure.message}`) : failure;
    }
    if (vm.typeof(json.value) !== 'string') return run.fail('output_invalid', `it returned a ${vm.typeof(state.value)}, which JSON cannot hold`);
    // Each UTF-16 unit is at least one byte: measure before copying the string out.
    const length = vm.getNumber(vm.getProp(json.value, 'length'));
    if (length > task.maxOutputBytes) return run.fail('output_too_large', `it returned ${length} characters of JSON (WEFT_CODE_MAX_OUTPUT_BYTES: ${task.maxOutputBytes} bytes)`);
    const text = vm.getString(json.value);
    const bytes = Buffer.byteLength(text);
    if (bytes > task.maxOutputBytes) return run.fail('output_too_large', `it returned ${bytes} bytes of JSON (WEFT_CODE_MAX_OUTPUT_BYTES: ${task.maxOutputBytes} bytes)`);
    return { ok: true, json: text, logs: logs.entries };
  } catch (err) {
    // The instance itself failed (an allocation the capped memory refused, an abort): it is discarded.
    if (Date.now() >= task.deadline) return run.timedOut();
    if (run.memoryFull()) return run.outOfMemory();
    return run.fail('error', `the sandbox failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Nothing is disposed: the whole instance, its memory with it, is dropped with this run.
}

export default execute;
