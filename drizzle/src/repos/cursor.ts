import { WeftError } from '@weft/shared/errors';
import { isUuid } from '@weft/shared/ids';

/** Position after the last item of a page ordered by (created_at desc, id desc). */
export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(cursor: KeysetCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id]), 'utf8').toString('base64url');
}

/** Throws INVALID_REQUEST for anything that is not a cursor this module wrote. */
export function decodeCursor(raw: string): KeysetCursor {
  const invalid = (): WeftError =>
    new WeftError('INVALID_REQUEST', 'invalid cursor', { details: [{ path: '/cursor', message: 'not a cursor returned by this API' }] });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !isUuid(id)) throw invalid();
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime())) throw invalid();
  return { createdAt, id };
}
