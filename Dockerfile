# syntax=docker/dockerfile:1
#
# One image for both deployables; the command picks the role:
#   api:    node api/dist/main.js --role=api   (default CMD)
#   worker: node worker/dist/main.js
# No HEALTHCHECK on purpose: compose and Kubernetes probe /health/live and /health/ready.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: install from the lockfile only, so source edits keep this layer cached ----------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY drizzle/package.json drizzle/
COPY worker/package.json worker/
COPY api/package.json api/
COPY api/embedded/package.json api/embedded/
RUN --mount=type=cache,target=/root/.npm npm ci

# ---- build: compile TypeScript, then drop devDependencies ----------------------------------
FROM deps AS build
COPY tsconfig.base.json ./
COPY shared/ shared/
COPY drizzle/ drizzle/
COPY worker/ worker/
COPY api/ api/
# tsc only emits .js: files read at run time beside their module (the Redis Lua scripts,
# loaded through import.meta.url) are copied from src/ to dist/ with the same layout.
# drizzle/migrations is created if absent so the runtime COPY below never fails.
RUN npm run build \
 && for pkg in shared drizzle worker api; do \
      (cd "$pkg/src" && find . -type f ! -name '*.ts' ! -name '.*' -exec cp --parents {} ../dist/ \;); \
    done \
 && mkdir -p drizzle/migrations \
 && npm prune --omit=dev

# ---- runtime: compiled code and production node_modules only --------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WEFT_DATA_DIR=/var/lib/weft
WORKDIR /app
# Code stays owned by root (read-only for the app); only the data folder (embedded mode)
# is writable by the unprivileged `node` user (uid 1000) of the base image.
RUN mkdir -p /var/lib/weft && chown node:node /var/lib/weft
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/drizzle/package.json drizzle/
COPY --from=build /app/drizzle/dist drizzle/dist
COPY --from=build /app/drizzle/migrations drizzle/migrations
COPY --from=build /app/worker/package.json worker/
COPY --from=build /app/worker/dist worker/dist
COPY --from=build /app/api/package.json api/
COPY --from=build /app/api/dist api/dist
USER node
# api: PORT (3000); worker health and metrics: WORKER_PORT (3001)
EXPOSE 3000 3001
CMD ["node", "api/dist/main.js", "--role=api"]
