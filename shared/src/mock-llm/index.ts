export { startMockLlm, MOCK_INVALID_API_KEY } from './server.js';
export type { MockLlm, MockLlmOptions, RecordedRequest } from './types.js';
export type { MockProvider } from './protocol.js';
export { asksForJson, countTokens, mockAnswer, mockJsonAnswer, mockUsage, promptHash, splitDeltas } from './answer.js';
export type { MockMessage, MockUsage } from './answer.js';
export { parseMockFaults } from './faults.js';
export type { MockFaults } from './faults.js';
