import { describe, expect, it } from 'vitest';
import { isCheapExpression } from './bounded-in-process.js';

describe('isCheapExpression', () => {
  it.each([
    'nodes.a.text',
    'item = "flaky"',
    '{"item": item, "via": nodes.risky ? "risky" : "safe"}',
    'input.items[price > 1].name',
    '[1, 2, input.x]',
    '-input.n * 2 + 1',
    'nodes.a.* & "x"',
    '$.input.x in [1, 2]',
    '(nodes.a.n)',
  ])('runs %s in process', (expression) => {
    expect(isCheapExpression(expression)).toBe(true);
  });

  it.each([
    '$sum(nodes.a.items)',
    '[1..10]',
    '($f := function($n){ $f($n+1) }; $f(0))',
    '$$.nodes.a',
    'input.items.[$, $, $]',
    'input.items.{"a": $}',
    'input.items^(price)',
    'input.items{name: price}',
    'input.items#$i.name',
    'input.x ~> $string',
    '**.x',
    '"a" & "b"'.padEnd(600, ' '),
    'nodes.(',
  ])('sends %s to a thread', (expression) => {
    expect(isCheapExpression(expression)).toBe(false);
  });
});
