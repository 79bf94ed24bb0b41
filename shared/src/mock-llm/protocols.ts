import { anthropicMessagesProtocol } from './anthropic-messages.js';
import { geminiGenerateContentProtocol } from './gemini-generate-content.js';
import { openAiChatProtocol } from './openai-chat.js';
import type { MockProtocol, RouteMatch } from './protocol.js';

/** Every protocol the mock speaks, tried in order against the request path. */
export const mockProtocols: readonly MockProtocol[] = [openAiChatProtocol, anthropicMessagesProtocol, geminiGenerateContentProtocol];

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
