import type { ErrorDetail } from '../errors/weft-error.js';
import { WeftError } from '../errors/weft-error.js';
import { collectRefs } from '../templates/collect-refs.js';
import { SECRET_NAME_PATTERN, type TemplateRef } from '../templates/types.js';
import { ancestorsOf, type FlowGraph } from './flow-graph.js';
import { jsonPointer } from './json-pointer.js';
import type { NodeInfo } from './node-info.js';

export interface ValidateTemplatesInput {
  nodes: readonly NodeInfo[];
  /** The flow's graph, or null when it cannot be trusted (cycle, dangling or malformed edge): upstream checks are skipped. */
  graph: FlowGraph | null;
}

function refProblem(input: { info: NodeInfo; ref: TemplateRef; upstream: Set<string> | null }): string | null {
  const { info, ref, upstream } = input;
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
      return `${info.label} uses {{${ref.source}}}, but '${ref.root}' exists only inside a map's sub-graph`;
    case 'nodes':
      return `${info.label} uses {{${ref.source}}}, but 'nodes' is reserved (it names upstream outputs in JSONata, not in templates)`;
    default:
      if (upstream === null || upstream.has(ref.root)) return null;
      return `${info.label} references '${ref.root}', which is not upstream of it`;
  }
}

/**
 * Parses every templated field (TEMPLATE_SYNTAX) and checks that each reference names `input`
 * or an ancestor of its node (FLOW_INVALID_REF).
 */
export function validateTemplates({ nodes, graph }: ValidateTemplatesInput): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const info of nodes) {
    if (info.raw === undefined || info.spec === undefined) continue;
    const upstream = graph === null || info.id === undefined ? null : ancestorsOf(graph, info.id);
    for (const field of info.spec.templatedFields(info.raw)) {
      const path = jsonPointer('nodes', info.index) + field.pointer;
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
        const message = refProblem({ info, ref, upstream });
        if (message === null || reported.has(message)) continue;
        reported.add(message);
        details.push({ path, message, code: 'FLOW_INVALID_REF' });
      }
    }
  }
  return details;
}
