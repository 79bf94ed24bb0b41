/**
 * The bench's table: one row per metric and baseline, with per-repetition figures kept raw for
 * the JSON. Rendering and the pass/fail of a target are pure, unit-tested.
 */
import { pairedRatios, spread, type Spread } from './stats.js';

export type Unit = 'per_s' | 'ms' | 'count' | 'bytes';

/** A target from issue 10: on the ratio weft/baseline, or on Weft's own figure. */
export interface Target {
  on: 'ratio' | 'weft';
  op: '>=' | '<=';
  value: number;
}

export interface Row {
  metric: string;
  unit: Unit;
  baselineName: string;
  /** One figure per repetition; weft[i] and baseline[i] were measured back to back. */
  weft: number[];
  baseline: number[];
  target?: Target;
}

export interface RowSummary {
  weft: Spread;
  baseline: Spread;
  ratio: Spread;
  pass: boolean | null;
}

export function summarizeRow(row: Row): RowSummary {
  const weft = spread(row.weft);
  const ratio = spread(pairedRatios(row.weft, row.baseline));
  let pass: boolean | null = null;
  if (row.target) {
    const value = row.target.on === 'ratio' ? ratio.median : weft.median;
    if (Number.isFinite(value)) pass = row.target.op === '>=' ? value >= row.target.value : value <= row.target.value;
  }
  return { weft, baseline: spread(row.baseline), ratio, pass };
}

/** 3 significant digits, thousands as k: 4230 → 4.23k, 0.0213 → 0.0213. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs >= 10_000) return `${(n / 1000).toFixed(abs >= 100_000 ? 0 : 1)}k`;
  if (abs >= 1000) return `${(n / 1000).toFixed(2)}k`;
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function formatValue(n: number, unit: Unit): string {
  if (!Number.isFinite(n)) return '—';
  switch (unit) {
    case 'per_s':
      return `${formatNumber(n)}/s`;
    case 'ms':
      return `${formatNumber(n)} ms`;
    case 'count':
      return formatNumber(n);
    case 'bytes':
      return `${formatNumber(n / 1024)} KB`;
  }
}

export function formatRatio(ratio: Spread): string {
  if (!Number.isFinite(ratio.median)) return '—';
  const r = (n: number): string => `${formatNumber(n)}×`;
  return ratio.min === ratio.max ? r(ratio.median) : `${r(ratio.median)} (${formatNumber(ratio.min)}–${formatNumber(ratio.max)})`;
}

export function formatTarget(target: Target | undefined, unit: Unit): string {
  if (!target) return '—';
  const op = target.op === '>=' ? '≥' : '≤';
  return target.on === 'ratio' ? `${op} ${formatNumber(target.value)}×` : `${op} ${formatValue(target.value, unit)}`;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The markdown table: metric | weft | baseline | ratio (min–max) | target | pass. */
export function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| metric | weft | baseline | ratio (min–max) | target | pass |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const s = summarizeRow(row);
    const pass = s.pass === null ? '—' : s.pass ? 'yes' : 'no';
    lines.push(`| ${[
      cell(row.metric),
      formatValue(s.weft.median, row.unit),
      `${formatValue(s.baseline.median, row.unit)} (${cell(row.baselineName)})`,
      formatRatio(s.ratio),
      formatTarget(row.target, row.unit),
      pass,
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}
