import type { TSchema } from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import type { BackoffPolicy } from './types.js';

/** A string field of a node that may contain `{{ref}}` templates. */
export interface TemplatedField {
  /** JSON pointer relative to the node, e.g. `/messages/0/content`. */
  pointer: string;
  text: string;
}

/** An entry of the flow's `edges` (an object, possibly invalid) and its index there. */
export interface OutEdge {
  index: number;
  edge: Readonly<Record<string, unknown>>;
}

/**
 * Bounds a deployment sets on node configs (the api passes its configuration; WEFT_CODE_*):
 * checks that depend on them report a JSON pointer like any other.
 */
export interface FlowLimits {
  /** Largest `memoryMb` of a code node (WEFT_CODE_MAX_MEMORY_MB). */
  codeMaxMemoryMb: number;
  /** Largest `timeoutMs` of a code node (WEFT_CODE_MAX_TIMEOUT_MS). */
  codeMaxTimeoutMs: number;
}

/** The configuration's defaults, for callers without one (tests, the bench). */
export const DEFAULT_FLOW_LIMITS: Readonly<FlowLimits> = { codeMaxMemoryMb: 512, codeMaxTimeoutMs: 60_000 };

/**
 * What validateFlow, nodeReferences, the API and the engine need to know about one node type.
 * Adding a type: CONTRIBUTING.md ("Adding a node type"); the compiler flags whichever step is
 * missing.
 */
export interface NodeTypeSpec {
  /** The whole node (id, type, common fields, config); unknown keys are rejected. */
  readonly schema: TSchema;
  /**
   * The node's templated strings. Receives the raw node, possibly invalid, so it must only
   * pick fields that are strings.
   */
  templatedFields(node: object): TemplatedField[];
  /**
   * Top-level fields the schema describes (for OpenAPI) but validateFlow checks on its own, with
   * better paths and messages: their schema errors are dropped (a map's `graph`).
   */
  readonly checkedApart?: readonly string[];
  /** Checks the schema cannot express; pointers relative to the node. Receives the raw node. */
  check?(node: object, limits: Readonly<FlowLimits>): ErrorDetail[];
  /** Whether out-edges may carry `when` / `default` (condition and switch nodes). */
  readonly branching: boolean;
  /**
   * Branching types: checks the labels of one out-edge given the node's earlier out-edges (in
   * document order), so repeats are reported at the later edge. Pointers relative to the edge.
   */
  checkOutEdge?(edge: OutEdge, earlier: readonly OutEdge[]): ErrorDetail[];
  /** Whether templates may use `{{vault.NAME}}` (http nodes only). */
  readonly allowsVaultRefs: boolean;
  /**
   * Whether the executor enforces the node's `timeoutMs` itself, with its own error (a code
   * node's sandbox: `code_timeout`); the engine then arms no timer of its own for it.
   */
  readonly timesItself?: boolean;
  /**
   * Whether a node of this type only evaluates an expression over its input and the results it
   * reads: no I/O, no user code, no spend. A worker may then run it straight after its one
   * parent, in memory, and commit the two in one step (a fused run, node-job.ts).
   */
  readonly fusable?: boolean;
  /** The retry a node of this type gets when it sets none (its `retry` replaces it). */
  readonly retry: Readonly<{ attempts: number; backoff: BackoffPolicy }>;
}

/** One attempt: work that gives the same answer every time. */
export const NO_RETRY: NodeTypeSpec['retry'] = { attempts: 1, backoff: { type: 'fixed', delayMs: 0 } };
