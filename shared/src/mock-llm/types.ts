import type { MockMessage } from './answer.js';
import type { MockProvider } from './protocol.js';

export interface MockLlmOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * When set, only this key is accepted. Otherwise any non-empty key is, except
   * `MOCK_INVALID_API_KEY`, which is always refused with 401.
   */
  apiKey?: string;
}

export interface RecordedRequest {
  /** 1, 2, 3… in arrival order. */
  id: number;
  /** Null when no protocol matched the path (answered 404). */
  provider: MockProvider | null;
  method: string;
  /** Path and query string. */
  path: string;
  model: string | null;
  stream: boolean;
  /** Lower-case names; credential headers are present but their value is `[redacted]`. */
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /**
   * The conversation as the mock understood it, system prompt first whatever the protocol
   * (what mockAnswer and mockUsage were computed from); null when the request did not parse.
   */
  messages: MockMessage[] | null;
  /** Faults requested by the model name, e.g. `['slow-200', 'cut']`. */
  faults: string[];
  /** Epoch milliseconds. */
  receivedAt: number;
  finishedAt: number | null;
  /** HTTP status sent, null while nothing has been sent. */
  status: number | null;
  /** The client went away before the response was complete. */
  aborted: boolean;
}

export interface MockLlm {
  /**
   * Base URL without a path, e.g. `http://127.0.0.1:4010`: the Anthropic and Gemini SDKs take it
   * as is, OpenAI clients take it with `/v1` appended.
   */
  readonly url: string;
  readonly port: number;
  /** Every request received since start or the last `reset()`, live (later fields fill in as it runs). */
  readonly requests: RecordedRequest[];
  /** Requests in flight now. */
  readonly active: number;
  /** Highest `active` seen since start or the last `reset()`. */
  readonly maxActive: number;
  /** Forgets recorded requests, the `mock-429` first-time state and the high-water mark. */
  reset(): void;
  /** Stops listening and drops open connections (hanging requests end as aborted). */
  close(): Promise<void>;
}
