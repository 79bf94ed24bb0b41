/**
 * Helpers for test/ops: the metric catalog of createMetrics(), and a small PromQL scanner that
 * lists the series and label names an expression refers to. The scanner is deliberately simple
 * (our dashboards and rules use plain selectors, aggregations and functions); it is not a parser.
 */
import { createMetrics } from '../../shared/src/metrics/create-metrics.js';

export interface MetricInfo {
  type: string;
  labels: ReadonlySet<string>;
}

/** Labels Prometheus adds at scrape time (job, instance) or our scrape configs add (namespace, pod). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'namespace', 'pod']);

/** Series Prometheus itself produces for every target. */
const SYNTHETIC_SERIES: ReadonlyMap<string, MetricInfo> = new Map([['up', { type: 'gauge', labels: new Set<string>() }]]);

/**
 * Every series name createMetrics() exposes (histograms as _bucket/_sum/_count, summaries as
 * _sum/_count and the base name), with the label names each accepts, plus Prometheus' `up`.
 */
export async function metricCatalog(): Promise<Map<string, MetricInfo>> {
  const { registry } = createMetrics();
  const catalog = new Map<string, MetricInfo>(SYNTHETIC_SERIES);
  for (const metric of await registry.getMetricsAsJSON()) {
    const single = registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] } | undefined;
    const labels = new Set(single?.labelNames ?? []);
    const type = String(metric.type);
    if (type === 'histogram') {
      catalog.set(`${metric.name}_bucket`, { type, labels: new Set([...labels, 'le']) });
      catalog.set(`${metric.name}_sum`, { type, labels });
      catalog.set(`${metric.name}_count`, { type, labels });
    } else if (type === 'summary') {
      catalog.set(metric.name, { type, labels: new Set([...labels, 'quantile']) });
      catalog.set(`${metric.name}_sum`, { type, labels });
      catalog.set(`${metric.name}_count`, { type, labels });
    } else {
      catalog.set(metric.name, { type, labels });
    }
  }
  return catalog;
}

export interface PromqlReferences {
  /** Series names selected, each with the label names its matchers use. */
  selectors: Array<{ metric: string; labels: string[] }>;
  /** Label names in by / without / on / ignoring / group_left / group_right clauses. */
  groupingLabels: string[];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

export function promqlReferences(expr: string): PromqlReferences {
  const selectors: PromqlReferences['selectors'] = [];
  const groupingLabels: string[] = [];
  // String literals first, so label values cannot look like names or braces.
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  rest = rest.replace(/([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, matchers: string) => {
    const labels = [...matchers.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);
    const nameMatcher = labels.includes('__name__');
    if (metric === undefined && nameMatcher) throw new Error(`selector by __name__ is not supported here: ${expr}`);
    if (metric !== undefined) selectors.push({ metric, labels });
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, names: string) => {
    groupingLabels.push(...names.split(',').map((n) => n.trim()).filter((n) => n !== ''));
    return ' ';
  });
  for (const m of rest.matchAll(/(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1]!;
    if (!KEYWORDS.has(name.toLowerCase())) selectors.push({ metric: name, labels: [] });
  }
  return { selectors, groupingLabels };
}

/**
 * Problems with an expression against the catalog: unknown series, and label names that none
 * of the expression's series carries. Empty when all is well.
 */
export function checkExpression(expr: string, catalog: ReadonlyMap<string, MetricInfo>): string[] {
  const problems: string[] = [];
  const { selectors, groupingLabels } = promqlReferences(expr);
  if (selectors.length === 0) problems.push(`no metric found in: ${expr}`);
  const known = new Set(TARGET_LABELS);
  for (const { metric, labels } of selectors) {
    const info = catalog.get(metric);
    if (!info) {
      problems.push(`unknown metric ${metric} in: ${expr}`);
      continue;
    }
    for (const label of info.labels) known.add(label);
    for (const label of labels) {
      if (!info.labels.has(label) && !TARGET_LABELS.has(label)) problems.push(`${metric} has no label ${label} in: ${expr}`);
    }
  }
  for (const label of groupingLabels) {
    if (!known.has(label)) problems.push(`grouping label ${label} is on none of the metrics of: ${expr}`);
  }
  return problems;
}
