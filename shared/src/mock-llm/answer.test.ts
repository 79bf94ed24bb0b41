import { describe, expect, it } from 'vitest';
import { asksForJson, countTokens, HUGE_DELTA_BYTES, hugeAnswer, mockAnswer, mockJsonAnswer, mockUsage, promptHash, splitDeltas } from './answer.js';
import { describeFaults, parseMockFaults } from './faults.js';

const long = 'Summarise the quarterly report for the board, focusing on revenue and churn.'; // 76 chars

describe('countTokens', () => {
  it('counts words and punctuation', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('   ')).toBe(0);
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('[gpt-4o] re: hi #ab12cd34')).toBe(10);
    expect(countTokens('naïve café 42')).toBe(3);
  });
});

describe('mockAnswer', () => {
  it('is deterministic and names the model', () => {
    const messages = [{ role: 'user', content: long }];
    expect(mockAnswer('gpt-x', messages)).toBe(mockAnswer('gpt-x', messages));
    expect(mockAnswer('gpt-x', messages)).toMatch(/^\[gpt-x\] re: Summarise the quarterly report for the #[0-9a-f]{8}$/);
  });

  it('differs for distinct conversations, including a different system prompt', () => {
    const a = mockAnswer('m', [{ role: 'user', content: long }]);
    const b = mockAnswer('m', [{ role: 'user', content: `${long}!` }]);
    const c = mockAnswer('m', [{ role: 'system', content: 'be brief' }, { role: 'user', content: long }]);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(promptHash([{ role: 'user', content: 'x' }])).not.toBe(promptHash([{ role: 'assistant', content: 'x' }]));
  });

  it('never contains the whole prompt, however short', () => {
    for (const prompt of ['hi', 'Hello there', 'What is 2+2?', long]) {
      const answer = mockAnswer('m', [{ role: 'user', content: prompt }]);
      expect(answer).not.toContain(prompt);
    }
    expect(mockAnswer('m', [{ role: 'user', content: 'x' }])).toMatch(/^\[m\] re: #[0-9a-f]{8}$/);
  });

  it('quotes the last user message, not the system prompt or earlier turns', () => {
    const answer = mockAnswer('m', [
      { role: 'system', content: 'You are a careful assistant who answers well.' },
      { role: 'user', content: 'First question about something else entirely' },
      { role: 'assistant', content: 'An answer' },
      { role: 'user', content: 'Second question, the one that counts here' },
    ]);
    expect(answer).toContain('re: Second question');
  });

  it('an answer embedded in a downstream prompt does not come back whole', () => {
    const upstream = mockAnswer('m', [{ role: 'user', content: long }]);
    const downstream = mockAnswer('m', [{ role: 'user', content: `Translate: ${upstream}` }]);
    expect(downstream).not.toContain(upstream);
  });
});

describe('mockJsonAnswer', () => {
  it('is a JSON object carrying the text answer', () => {
    const messages = [{ role: 'user', content: long }];
    expect(JSON.parse(mockJsonAnswer('m', messages))).toEqual({ answer: mockAnswer('m', messages), model: 'm' });
  });
});

describe('mockUsage', () => {
  it('sums prompt tokens over messages and counts the answer', () => {
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello, world!' }];
    expect(mockUsage(messages, 'a b c')).toEqual({ promptTokens: 7, completionTokens: 3, totalTokens: 10 });
  });
});

describe('splitDeltas', () => {
  it('splits word by word and joins back exactly', () => {
    for (const text of ['[m] re: Hello there #abc', '  leading and trailing  ', 'one', 'a\n\nb  c']) {
      const deltas = splitDeltas(text);
      expect(deltas.join('')).toBe(text);
      expect(deltas.every((d) => d !== '')).toBe(true);
    }
    expect(splitDeltas('[m] re: Hello #abc')).toEqual(['[m] ', 're: ', 'Hello ', '#abc']);
    expect(splitDeltas('')).toEqual([]);
  });
});

describe('parseMockFaults', () => {
  it('reads fault tokens anywhere in the model name', () => {
    expect(parseMockFaults('gpt-4o')).toEqual({ delayMs: 0, error: null, hang: false, malformed: false, cut: false, notJson: false, echoKey: null, hugeBytes: 0 });
    expect(parseMockFaults('gpt-test/mock-echo-key-base64').echoKey).toBe('base64');
    expect(parseMockFaults('mock-echo-key-other').echoKey).toBeNull();
    expect(parseMockFaults('x/mock-notjson').notJson).toBe(true);
    expect(parseMockFaults('mock-429').error).toBe('rate-limited-once');
    expect(parseMockFaults('mock-429-always').error).toBe('rate-limited');
    expect(parseMockFaults('mock-500').error).toBe('server-error');
    expect(parseMockFaults('mock-400').error).toBe('bad-request');
    expect(parseMockFaults('mock-404').error).toBe('not-found');
    expect(parseMockFaults('mock-4000').error).toBeNull();
    const combined = parseMockFaults('gpt-test/mock-slow-200-mock-cut');
    expect(combined).toMatchObject({ delayMs: 200, cut: true });
    expect(describeFaults(combined)).toEqual(['slow-200', 'cut']);
    expect(parseMockFaults('mock-hang').hang).toBe(true);
    expect(parseMockFaults('x-mock-malformed').malformed).toBe(true);
    expect(parseMockFaults('gpt/mock-huge-52428800').hugeBytes).toBe(52_428_800);
    expect(describeFaults(parseMockFaults('gpt/mock-huge-1024'))).toEqual(['huge-1024']);
  });
});

describe('hugeAnswer', () => {
  it('pads the answer to exactly the size asked, in deltas of HUGE_DELTA_BYTES that join back', () => {
    const huge = hugeAnswer('[m] re: hi #abcd1234', 100_000);
    expect(Buffer.byteLength(huge.text)).toBe(100_000);
    expect(huge.text.startsWith('[m] re: hi #abcd1234 lorem')).toBe(true);
    expect(huge.deltas.join('')).toBe(huge.text);
    expect(huge.deltas.every((d) => d.length <= HUGE_DELTA_BYTES)).toBe(true);
    expect(huge.completionTokens).toBe(25_000);
    expect(hugeAnswer('[m] re: hi #abcd1234', 5).text).toBe('[m] r');
  });
});

describe('asksForJson', () => {
  it('is true when the system prompt or a user message mentions JSON as a word, in any case', () => {
    expect(asksForJson([{ role: 'system', content: 'Answer in JSON.' }, { role: 'user', content: 'hi' }])).toBe(true);
    expect(asksForJson([{ role: 'user', content: 'give me json' }])).toBe(true);
    expect(asksForJson([{ role: 'user', content: 'What is the capital of Peru?' }])).toBe(false);
    expect(asksForJson([{ role: 'user', content: 'open config.jsonc and jsonify it' }])).toBe(false);
    // An earlier answer that mentions JSON does not switch the mode.
    expect(asksForJson([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'I like JSON' }, { role: 'user', content: 'more' }])).toBe(false);
  });
});
