import { WeftError } from '@weft/shared/errors';
import type { HttpMethod, HttpNode } from '@weft/shared/flow';
import { mapStringLeaves, renderTemplate, renderTemplateValue, SECRET_PLACEHOLDER, stringLeaves, vaultRefNames, type TemplateContext } from '@weft/shared/templates';

/** A rendered http node: what is sent (with secret values) or what is stored (with `[secret]`). */
export interface RenderedHttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  /** Absent, a rendered string (sent as is), or a rendered JSON value (sent as JSON). */
  body?: unknown;
}

/** The secret names the node's url, headers and body read through `{{vault.NAME}}`. */
export function httpNodeSecretNames(node: HttpNode): string[] {
  const texts = [node.url, ...Object.values(node.headers ?? {}), ...stringLeaves(node.body).map((leaf) => leaf.text)];
  return vaultRefNames(texts);
}

/**
 * Object keys are kept as written; string leaves are templates whose lone references keep their
 * type. Iterative (mapStringLeaves), so a deep body cannot overflow the stack.
 */
function renderJson(value: unknown, ctx: TemplateContext): unknown {
  return mapStringLeaves(value, (text) => renderTemplateValue(text, ctx));
}

/**
 * Renders url, header values and body. A string body is one template; a JSON body has its
 * string leaves rendered, and a leaf that is exactly one reference (`"{{input.n}}"`) takes the
 * referenced value with its type. Throws TEMPLATE_MISSING_REF as renderTemplate does.
 */
export function renderHttpRequest(node: HttpNode, ctx: TemplateContext): RenderedHttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(node.headers ?? {})) headers[name] = renderTemplate(value, ctx);
  const rendered: RenderedHttpRequest = { method: node.method, url: renderTemplate(node.url, ctx), headers };
  if (node.body !== undefined) rendered.body = typeof node.body === 'string' ? renderTemplate(node.body, ctx) : renderJson(node.body, ctx);
  return rendered;
}

/** A vault where every named secret reads `[secret]`: renders the copy that is safe to store. */
export function placeholderVault(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, SECRET_PLACEHOLDER]));
}

/**
 * The bytes to send for a rendered body, and the headers to send with them: a JSON body is
 * serialised and gets `content-type: application/json` unless the node set a content type.
 */
export function encodeHttpBody(request: RenderedHttpRequest): { headers: Record<string, string>; body: string | undefined } {
  if (request.body === undefined) return { headers: request.headers, body: undefined };
  if (typeof request.body === 'string') return { headers: request.headers, body: request.body };
  const hasType = Object.keys(request.headers).some((name) => name.toLowerCase() === 'content-type');
  const headers = hasType ? request.headers : { ...request.headers, 'content-type': 'application/json' };
  let body: string;
  try {
    body = JSON.stringify(request.body);
  } catch (err) {
    // JSON.stringify recurses: a referenced value nested deep enough throws RangeError.
    if (err instanceof RangeError) throw new WeftError('JSON_TOO_DEEP', 'the rendered body nests too deep to send as JSON');
    throw err;
  }
  return { headers, body };
}
