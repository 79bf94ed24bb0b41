import type { ErrorDetail } from '../errors/weft-error.js';
import { WeftError } from '../errors/weft-error.js';
import { collectRefs } from '../templates/collect-refs.js';
import { SECRET_NAME_PATTERN, type TemplateRef } from '../templates/types.js';
import { expressionFields, expressionNodeRefs } from './expression-refs.js';
import { ancestorsOf, type FlowGraph } from './flow-graph.js';
import type { NodeInfo } from './node-info.js';

/** Where the nodes being checked live when they are a map's sub-graph. */
export interface MapTemplateScope {
  /** How the map is named (`map 'm'`), as in ValidateTemplatesInput.mapOf. */
  label: string;
  /** The map's ancestors in the flow's graph, or null when that graph cannot be trusted. */
  outerUpstream: ReadonlySet<string> | null;
}

export interface ValidateTemplatesInput {
  nodes: readonly NodeInfo[];
  /** The nodes' graph, or null when it cannot be trusted (cycle, dangling or malformed edge): upstream checks are skipped. */
  graph: FlowGraph | null;
  /** Set when `nodes` are a map's sub-graph: `{{item}}` and `{{index}}` are allowed, and the map's ancestors may be named. */
  map?: MapTemplateScope;
  /** Ids of the nodes of every map's sub-graph to their map's label: only that sub-graph may name them. */
  mapOf: ReadonlyMap<string, string>;
}

interface RefContext {
  info: NodeInfo;
  /** Ancestors of the node within its own graph, or null. */
  upstream: ReadonlySet<string> | null;
  map: MapTemplateScope | undefined;
  mapOf: ReadonlyMap<string, string>;
}

function nodeRefProblem({ info, upstream, map, mapOf }: RefContext, root: string): string | null {
  const owner = mapOf.get(root);
  if (owner !== undefined && owner !== map?.label) {
    return `${info.label} references '${root}', which is inside ${owner}; reference the map's output instead`;
  }
  if (map === undefined || owner !== undefined) {
    if (upstream === null || upstream.has(root)) return null;
    return `${info.label} references '${root}', which is not upstream of it`;
  }
  if (map.outerUpstream === null || map.outerUpstream.has(root)) return null;
  return `${info.label} references '${root}', which is neither upstream of it in ${map.label} nor upstream of the map`;
}

function refProblem(context: RefContext, ref: TemplateRef): string | null {
  const { info, map } = context;
  switch (ref.root) {
    case 'input':
      return null;
    case 'vault':
      if (info.spec?.allowsVaultRefs !== true) return `${info.label} uses {{${ref.source}}}, but vault references are only allowed in http nodes`;
      if (ref.path.length !== 1 || !SECRET_NAME_PATTERN.test(ref.path[0] ?? '')) {
        return `${info.label} uses {{${ref.source}}}: write {{vault.NAME}}, NAME matching ${SECRET_NAME_PATTERN.source}`;
      }
      return null;
    case 'item':
    case 'index':
      if (map === undefined) return `${info.label} uses {{${ref.source}}}, but '${ref.root}' exists only inside a map's sub-graph`;
      if (ref.root === 'index' && ref.path.length > 0) return `${info.label} uses {{${ref.source}}}, but {{index}} is the item's position and takes no path`;
      return null;
    case 'nodes':
      return `${info.label} uses {{${ref.source}}}, but 'nodes' is reserved (it names upstream outputs in JSONata, not in templates)`;
    default:
      return nodeRefProblem(context, ref.root);
  }
}

/**
 * Parses every templated field (TEMPLATE_SYNTAX) and checks that each reference names `input`
 * or an ancestor of its node (FLOW_INVALID_REF). Inside a map's sub-graph, also `{{item}}`,
 * `{{index}}` and the map's ancestors; elsewhere, never a node of a map's sub-graph. The same
 * rule holds for the `nodes.<id>` a JSONata expression reads (a node that is not upstream would
 * silently read as nothing).
 */
export function validateTemplates({ nodes, graph, map, mapOf }: ValidateTemplatesInput): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const info of nodes) {
    if (info.raw === undefined || info.spec === undefined) continue;
    const upstream = graph === null || info.id === undefined ? null : ancestorsOf(graph, info.id);
    const context: RefContext = { info, upstream, map, mapOf };
    for (const field of info.spec.templatedFields(info.raw)) {
      const path = info.path + field.pointer;
      let refs: TemplateRef[];
      try {
        refs = collectRefs(field.text);
      } catch (err) {
        if (!(err instanceof WeftError)) throw err;
        details.push({ path, message: `${info.label}: ${err.message}`, code: 'TEMPLATE_SYNTAX' });
        continue;
      }
      const reported = new Set<string>();
      for (const ref of refs) {
        const message = refProblem(context, ref);
        if (message === null || reported.has(message)) continue;
        reported.add(message);
        details.push({ path, message, code: 'FLOW_INVALID_REF' });
      }
    }
    for (const field of expressionFields(info.raw)) {
      for (const id of expressionNodeRefs(field.expression)) {
        const message = nodeRefProblem(context, id);
        if (message !== null) details.push({ path: info.path + field.pointer, message: `${message} (nodes.${id})`, code: 'FLOW_INVALID_REF' });
      }
    }
  }
  return details;
}
