/** Turns response bytes into the `body` an `http` node outputs. Pure. */

function mediaType(contentType: string | undefined): { essence: string; charset: string | undefined } {
  const [essence = '', ...params] = (contentType ?? '').split(';');
  let charset: string | undefined;
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'charset') charset = value.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { essence: essence.trim().toLowerCase(), charset };
}

export function isJsonMediaType(contentType: string | undefined): boolean {
  const { essence } = mediaType(contentType);
  const subtype = essence.split('/')[1] ?? '';
  return subtype === 'json' || subtype.endsWith('+json');
}

function decodeText(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // An unknown charset label: UTF-8 is the best guess and never throws.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * Parsed JSON when the content type is JSON (`application/json`, `application/*+json`) and the
 * text parses; the text otherwise (decoded per the charset parameter, UTF-8 by default, BOM
 * dropped).
 */
export function parseBody(contentType: string | undefined, bytes: Buffer): unknown {
  const text = decodeText(bytes, mediaType(contentType).charset);
  if (!isJsonMediaType(contentType) || text.trim() === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
