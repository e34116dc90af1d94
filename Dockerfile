# Crondeck in a container: build the app, then a runtime image that serves it as a non-root user.
#   docker build -t crondeck .
#   docker run -d --name crondeck -p 3000:3000 --env-file /etc/crondeck/crondeck.env crondeck
# The default command applies pending migrations (under an advisory lock: several replicas
# starting at once apply them once), then execs the server, so node is PID 1 and gets
# `docker stop`'s SIGTERM itself: running jobs drain for CRON_SHUTDOWN_GRACE_SECONDS (30 by
# default; `docker stop -t 45` waits long enough, its default 10 s does not). Migrations as a
# separate step instead:
#   docker run --rm --env-file /etc/crondeck/crondeck.env crondeck node node_modules/tsx/dist/cli.mjs scripts/migrate.ts
#   docker run -d ... crondeck node scripts/start.mjs -H 0.0.0.0
# tests/http/self-host-docker.test.ts runs this file's CMD and HEALTHCHECK as written.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the lockfile, not `npm ci`: the registry may lack other platforms'
# optional binaries, which npm then leaves out of the lockfile and `npm ci` refuses.
RUN npm install --no-audit --no-fund

FROM deps AS build
ENV NEXT_TELEMETRY_DISABLED=1
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000
WORKDIR /app
# The built app with its production dependencies (.dockerignore keeps secrets and local state
# out). Its files belong to root, read-only to the server, which writes only .data (the
# embedded database, when no DATABASE_URL is set: mount a volume there) and Next's cache.
COPY --from=build /app ./
RUN mkdir -p .data .next/cache && chown -R node:node .data .next/cache
USER node
VOLUME ["/app/.data"]
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["/bin/sh", "-c", "node node_modules/tsx/dist/cli.mjs scripts/migrate.ts && exec node scripts/start.mjs -H 0.0.0.0"]
