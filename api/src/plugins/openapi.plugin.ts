/**
 * The OpenAPI document, generated from the route schemas (so it cannot drift), served at
 * `/openapi.json` and browsable at `/docs`. Registered before any route so that every route
 * is collected.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function openApiPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Weft API',
        version: '1.0.0',
        description: 'Durable AI workflows: DAGs of LLM, HTTP and data steps, watched live.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'WEFT_ADMIN_TOKEN' },
        },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, () => app.swagger());
}

export default fp(openApiPlugin, { name: 'weft-openapi', fastify: '5.x' });
