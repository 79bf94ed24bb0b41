import { Writable } from 'node:stream';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WeftError } from '@weft/shared/errors';
import { createLogger } from '@weft/shared/logging';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bodyParserPlugin from './body-parser.plugin.js';
import errorHandlerPlugin, { classifyError, conflict, notFound, validationDetails } from './error-handler.plugin.js';

const logs: Array<Record<string, unknown>> = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    logs.push(JSON.parse(chunk.toString()));
    callback();
  },
});

const app = Fastify({ loggerInstance: createLogger({ level: 'info', name: 'test', destination }) })
  .setValidatorCompiler(TypeBoxValidatorCompiler)
  .withTypeProvider<TypeBoxTypeProvider>();

beforeAll(async () => {
  await app.register(errorHandlerPlugin);
  await app.register(bodyParserPlugin);
  app.get('/throw/internal', () => {
    throw new Error('db password is hunter2');
  });
  app.get('/throw/rate-limited', () => {
    throw new WeftError('RATE_LIMITED', 'slow down', { retryAfterMs: 2500 });
  });
  app.get('/throw/unavailable', () => {
    throw new WeftError('DEPENDENCY_UNAVAILABLE', 'redis is down');
  });
  app.get('/throw/connection', () => {
    throw new Error('query failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) });
  });
  app.get('/throw/conflict', () => {
    throw conflict('execution already finished');
  });
  app.get('/throw/not-found', () => {
    throw notFound('execution');
  });
  app.post('/echo', { schema: { body: Type.Object({ a: Type.Union([Type.String(), Type.Null()]), b: Type.Optional(Type.Enum(['x', 'y'])) }, { additionalProperties: false }) } }, (request) => request.body);
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('error handler', () => {
  it('answers 500 internal_error with a generic message and logs the stack at error', async () => {
    const res = await app.inject({ method: 'GET', url: '/throw/internal' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(res.body).not.toContain('hunter2');
    const line = logs.find((l) => l.msg === 'request failed');
    expect(line?.level).toBe(50);
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('hunter2');
  });

  it('sets Retry-After on 429 from retryAfterMs, and a default on 503', async () => {
    const limited = await app.inject({ method: 'GET', url: '/throw/rate-limited' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect(limited.json()).toEqual({ error: { code: 'rate_limited', message: 'slow down' } });
    const down = await app.inject({ method: 'GET', url: '/throw/unavailable' });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
  });

  it('answers 503 dependency_unavailable for a connection failure, without its message', async () => {
    const res = await app.inject({ method: 'GET', url: '/throw/connection' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('dependency_unavailable');
    expect(res.body).not.toContain('5432');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('maps the helpers to 404 and 409, logged at info', async () => {
    const nf = await app.inject({ method: 'GET', url: '/throw/not-found' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ error: { code: 'not_found', message: 'execution not found' } });
    const c = await app.inject({ method: 'GET', url: '/throw/conflict' });
    expect(c.statusCode).toBe(409);
    expect(c.json().error.code).toBe('conflict');
    expect(logs.find((l) => l.msg === 'execution already finished')?.level).toBe(30);
  });

  it('reports schema failures once per problem, with JSON pointers', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1, b: 'z', c: true } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual([
      { path: '/c', message: 'is not allowed' },
      { path: '/a', message: 'does not match any allowed shape' },
      { path: '/b', message: 'must be one of: "x", "y"' },
    ].filter((d) => error.details.some((e: { path: string }) => e.path === d.path)));
    expect(error.details.map((d: { path: string }) => d.path).sort()).toEqual(['/a', '/b', '/c']);
  });

  it('answers 400 invalid_json, 415 and 404 with the error shape', async () => {
    const bad = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(bad.json()).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
    const media = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(media.statusCode).toBe(415);
    expect(media.json().error.code).toBe('unsupported_media_type');
    const missing = await app.inject({ method: 'DELETE', url: '/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no route DELETE /nope' } });
  });
});

describe('validationDetails', () => {
  it('reads Ajv-style missing and additional properties', () => {
    expect(
      validationDetails([
        { keyword: 'required', instancePath: '/nodes/0', schemaPath: '#/required', params: { missingProperty: 'id' }, message: 'x' },
        { keyword: 'additionalProperties', instancePath: '', schemaPath: '#/additionalProperties', params: { additionalProperty: 'a/b' }, message: 'x' },
      ]),
    ).toEqual([
      { path: '/nodes/0/id', message: 'is required' },
      { path: '/a~1b', message: 'is not allowed' },
    ]);
  });
});

describe('classifyError', () => {
  it('never lets an unknown error through as anything but internal', () => {
    for (const thrown of [new Error('x'), 'a string', null, { code: 'NOT_FOUND' }]) {
      const { error, internal } = classifyError(thrown);
      expect(internal).toBe(true);
      expect(error.code).toBe('INTERNAL_ERROR');
    }
  });

  it('keeps 4xx fastify errors as client errors', () => {
    const err = Object.assign(new Error('Request body size did not match Content-Length'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' });
    expect(classifyError(err)).toMatchObject({ internal: false, error: { code: 'INVALID_REQUEST', httpStatus: 400 } });
  });
});
