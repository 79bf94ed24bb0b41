import type { MapGraphNode } from '../ports/state-store.js';

/** A map node's progress in hot state (apply-map.ts); stored as JSON in the `maps` hash. */
export interface MapRecord {
  state: 'running' | 'ended';
  count: number;
  concurrency: number;
  onItemError: 'fail' | 'continue';
  failExecution: boolean;
  output: string;
  nodes: MapGraphNode[];
  /** One character per item: `.` waiting, `r` running, `c` completed, `f` failed. */
  items: string;
  /** Items released and not ended. */
  active: number;
  /** Incremented each time a retry runs the map again; part of its item nodes' job ids. */
  round: number;
}
