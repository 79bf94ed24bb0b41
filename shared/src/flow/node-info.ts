import type { NodeTypeSpec } from './node-type-spec.js';

/** What validateFlow learned about one entry of `nodes`, shared by its later checks. */
export interface NodeInfo {
  index: number;
  /** JSON pointer of the node in the flow document (`/nodes/3`, `/nodes/3/graph/nodes/0`). */
  path: string;
  /** The node's id when it is a string (valid or not). */
  id: string | undefined;
  /** The node when it is an object. */
  raw: Readonly<Record<string, unknown>> | undefined;
  /** Its type's spec when the type is known. */
  spec: NodeTypeSpec | undefined;
  /** `node 'a'` or `node #3`, for messages. */
  label: string;
}
