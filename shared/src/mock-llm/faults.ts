/**
 * Fault injection driven by the model name, so any caller (a test, a flow in the demo, curl)
 * can trigger it without talking to the mock. Tokens may appear anywhere in the model name and
 * combine, e.g. `gpt-test/mock-slow-200/mock-cut`. They work the same for every protocol; the
 * errors come in that protocol's error shape (a Gemini 429 also carries a RetryInfo detail).
 *
 * | token             | behaviour                                                                   |
 * |-------------------|-----------------------------------------------------------------------------|
 * | `mock-slow-<ms>`  | waits `<ms>` before answering; streams also wait `<ms>` between chunks      |
 * | `mock-429`        | 429 with `Retry-After: 1` the first time a given conversation is sent (per  |
 * |                   | provider, model and messages), then answers normally; `reset()` forgets     |
 * | `mock-429-always` | 429 with `Retry-After: 1` every time                                        |
 * | `mock-500`        | 500 server error                                                            |
 * | `mock-400`        | 400 invalid request                                                         |
 * | `mock-404`        | 404 model not found                                                         |
 * | `mock-hang`       | never answers; the request stays open until the client disconnects         |
 * | `mock-malformed`  | 200 with a body (or a stream event) that is not valid JSON                  |
 * | `mock-cut`        | the connection is dropped mid-way (after half of the stream, or half of a  |
 * |                   | non-streaming body)                                                         |
 * | `mock-notjson`    | in JSON mode, answers plain text anyway (the provider bills it as usual)    |
 * | `mock-echo-key-<form>` | 400 whose message and `x-echo-key` header echo the request's API key, |
 * |                   | as `whole`, `masked` (14 first and 4 last characters), `url` (encoded),    |
 * |                   | `base64` or `json` (escaped): a careless provider, for leak tests          |
 * | `mock-huge-<n>`   | the answer is exactly `<n>` bytes of ASCII text (the usual answer, padded), |
 * |                   | streamed in 16 KiB deltas; its completion tokens are `ceil(<n> / 4)`        |
 */
export type MockErrorFault = 'rate-limited-once' | 'rate-limited' | 'server-error' | 'bad-request' | 'not-found';

/** How `mock-echo-key-<form>` echoes the key. */
export type MockKeyEcho = 'whole' | 'masked' | 'url' | 'base64' | 'json';

export interface MockFaults {
  delayMs: number;
  error: MockErrorFault | null;
  hang: boolean;
  malformed: boolean;
  cut: boolean;
  notJson: boolean;
  echoKey: MockKeyEcho | null;
  /** `mock-huge-<n>`: the answer's size in bytes, or 0 for the usual answer. */
  hugeBytes: number;
}

const FAULT_PATTERN = /mock-(slow-(\d+)|echo-key-(whole|masked|url|base64|json)|huge-(\d+)|429-always|429|500|400|404|hang|malformed|cut|notjson)(?![\w])/g;

export function parseMockFaults(model: string): MockFaults {
  const faults: MockFaults = { delayMs: 0, error: null, hang: false, malformed: false, cut: false, notJson: false, echoKey: null, hugeBytes: 0 };
  for (const match of model.matchAll(FAULT_PATTERN)) {
    const token = match[1] ?? '';
    const slowMs = match[2];
    if (slowMs !== undefined) {
      faults.delayMs = Number(slowMs);
      continue;
    }
    const echo = match[3] as MockKeyEcho | undefined;
    if (echo !== undefined) {
      faults.echoKey = echo;
      continue;
    }
    const hugeBytes = match[4];
    if (hugeBytes !== undefined) {
      faults.hugeBytes = Number(hugeBytes);
      continue;
    }
    switch (token) {
      case '429':
        faults.error = 'rate-limited-once';
        break;
      case '429-always':
        faults.error = 'rate-limited';
        break;
      case '500':
        faults.error = 'server-error';
        break;
      case '400':
        faults.error = 'bad-request';
        break;
      case '404':
        faults.error = 'not-found';
        break;
      case 'hang':
        faults.hang = true;
        break;
      case 'notjson':
        faults.notJson = true;
        break;
      case 'malformed':
        faults.malformed = true;
        break;
      case 'cut':
        faults.cut = true;
        break;
      default:
        break;
    }
  }
  return faults;
}

/** Names of the faults a model requests, for the request record (`['slow-200', 'cut']`). */
export function describeFaults(faults: MockFaults): string[] {
  const names: string[] = [];
  if (faults.delayMs > 0) names.push(`slow-${faults.delayMs}`);
  if (faults.error) names.push(faults.error);
  if (faults.hang) names.push('hang');
  if (faults.malformed) names.push('malformed');
  if (faults.cut) names.push('cut');
  if (faults.echoKey) names.push(`echo-key-${faults.echoKey}`);
  if (faults.hugeBytes > 0) names.push(`huge-${faults.hugeBytes}`);
  return names;
}
