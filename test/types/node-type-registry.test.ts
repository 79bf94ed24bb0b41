/**
 * Adding a node type is its schema and spec (shared/src/flow), its executor (worker/src/nodes)
 * and its test: every other place is a record keyed by the node-type union, so the compiler
 * names what is missing. The @ts-expect-error lines are the type-level test: a union that has
 * one member more than the registries fails to compile against them (typecheck fails if they
 * ever stop being exact records). The runtime test checks the same keys.
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_NODE_TYPES, NODE_TYPES, nodeTypeSpecs, type EngineNodeType, type NodeType } from '@weft/shared/flow';
import type { NodeTypeSpec } from '../../shared/src/flow/node-type-spec.js';
import type { NodeExecutors } from '../../worker/src/nodes/index.js';

/** The union as it would be with a new member and nothing else written. */
type WithNewType = NodeType | 'fixture-new-type';

/** Compiles only when `Actual` is assignable to `Expected`. */
type Assignable<Expected, Actual extends Expected> = Actual;

// @ts-expect-error a node type without a spec does not compile
export type SpecsOfWidened = Assignable<Readonly<Record<WithNewType, NodeTypeSpec>>, typeof nodeTypeSpecs>;
// The registry as it is covers the union as it is.
export type SpecsOfCurrent = Assignable<Readonly<Record<NodeType, NodeTypeSpec>>, typeof nodeTypeSpecs>;

// @ts-expect-error a node type a worker runs without an executor does not compile
export type ExecutorsOfWidened = Assignable<Readonly<Record<Exclude<WithNewType, EngineNodeType>, unknown>>, NodeExecutors>;
export type ExecutorsOfCurrent = Assignable<Readonly<Record<Exclude<NodeType, EngineNodeType>, unknown>>, NodeExecutors>;

describe('node type registry', () => {
  it('has a spec, with a retry default, for every node type', () => {
    expect(Object.keys(nodeTypeSpecs).sort()).toEqual([...NODE_TYPES].sort());
    for (const type of NODE_TYPES) expect(nodeTypeSpecs[type].retry.attempts, type).toBeGreaterThanOrEqual(1);
  });

  it('leaves only the engine-run types without an executor', () => {
    expect(ENGINE_NODE_TYPES.every((type) => NODE_TYPES.includes(type))).toBe(true);
  });
});
