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
    '$sum(nodes.a.items)',
    '{ "step": 1, "topic": $uppercase(input.topic) }',
    '$uppercase($substring($trim(input.s), 0, 3)) & $string(input.n)',
    '$count(input.items[$contains(name, "x")]) > 0',
  ])('runs %s in process', (expression) => {
    expect(isCheapExpression(expression)).toBe(true);
  });

  it.each([
    '[1..10]',
    '$join(input.items, input.separator)',
    '$pad("x", 100000000)',
    '$replace(input.s, "a", input.big)',
    '$string(input, true)',
    '$split(input.s, "")',
    '$sort(input.items)',
    '$eval(input.code)',
    '$map(input.items, function($v) { $v })',
    '$uppercase($f)',
    '$contains(input.s, /a+b/)',
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
