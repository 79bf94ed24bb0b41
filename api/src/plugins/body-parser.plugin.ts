/**
 * JSON is the only request body the api accepts (anything else answers 415
 * unsupported_media_type). An empty JSON body counts as no body, so clients that always send
 * `Content-Type: application/json` can still call body-less routes (cancel, retry…);
 * malformed JSON is 400 invalid_json. Prototype poisoning is refused like malformed JSON.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

function bodyParserPlugin(app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, next) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      next(null, undefined);
      return;
    }
    void parseJson(request, text, next);
  });
  done();
}

export default fp(bodyParserPlugin, { name: 'weft-body-parser', fastify: '5.x' });
