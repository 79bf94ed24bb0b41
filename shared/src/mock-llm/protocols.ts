import { anthropicMessagesProtocol } from './anthropic-messages.js';
import { geminiGenerateContentProtocol } from './gemini-generate-content.js';
import { openAiChatProtocol } from './openai-chat.js';
import type { MockProtocol, MockProvider, RouteMatch } from './protocol.js';

/** One protocol per wire format: a new MockProvider is a compile error here until it has one. */
const protocolOf = {
  openai: openAiChatProtocol,
  anthropic: anthropicMessagesProtocol,
  gemini: geminiGenerateContentProtocol,
} satisfies Record<MockProvider, MockProtocol>;

/** Every protocol the mock speaks, tried in order against the request path. */
export const mockProtocols: readonly MockProtocol[] = Object.values(protocolOf);

export function routeRequest(
  protocols: readonly MockProtocol[],
  request: { method: string; pathname: string },
): { protocol: MockProtocol; route: RouteMatch } | null {
  for (const protocol of protocols) {
    const route = protocol.match(request.method, request.pathname);
    if (route) return { protocol, route };
  }
  return null;
}
