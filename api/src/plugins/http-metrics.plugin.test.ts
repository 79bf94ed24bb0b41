/** The api's request metrics keep bounded labels whatever a client sends: method, route, status. */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '@weft/shared/metrics';
import httpMetricsPlugin, { methodLabel } from './http-metrics.plugin.js';

const metrics = createMetrics();
const app = Fastify();

beforeAll(async () => {
  await app.register(httpMetricsPlugin, { metrics });
  app.get('/v1/things/:id', () => ({ ok: true }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('http metrics labels', () => {
  it('maps methods the api does not serve to other', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map(methodLabel)).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    expect(['PROPFIND', 'MKCOL', 'SEARCH', 'get'].map(methodLabel)).toEqual(['other', 'other', 'other', 'other']);
  });

  it('keeps one series per (method, pattern, status) however many distinct URLs and methods arrive', async () => {
    const methods = ['GET', 'PROPFIND', 'MKCOL', 'LOCK', 'UNLOCK', 'COPY', 'MOVE', 'REPORT', 'SEARCH'] as const;
    for (let i = 0; i < 100; i++) {
      await app.inject({ method: 'GET', url: `/v1/things/${i}?q=${i}` });
      await app.inject({ method: methods[i % methods.length]!, url: `/nowhere/${i}` });
    }
    const { values } = await metrics.httpRequestsTotal.get();
    const series = values.map((v) => `${String(v.labels.method)} ${String(v.labels.route)} ${String(v.labels.status)}`).sort();
    expect(series).toEqual(['GET /v1/things/:id 200', 'GET unmatched 404', 'other unmatched 404']);
    expect(values.reduce((sum, v) => sum + v.value, 0)).toBe(200);
  });
});
