# mailslot: the Graph webhooks and the admin API (`start --role web`), the
# pollers and the email handler queue (`start --role worker`), or both in one
# process (`start`, the default). Expects DATABASE_URL. deploy/compose.yaml
# runs a web and a worker container beside PostgreSQL (docs/docker.md).
#
# No build step: Node 24 runs the TypeScript sources itself (type stripping).

# deps: the production dependencies, installed where npm is at hand
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# runtime: node, those dependencies and the sources; no npm, no compiler, not root
FROM node:24-slim AS runtime
# NODE_OPTIONS: the young-generation bound scripts/with-node.sh explains
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MAILSLOT_DATA_DIR=/var/lib/mailslot \
    NODE_OPTIONS=--max-semi-space-size=16
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/mailslot mailslot
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY sql ./sql
COPY src ./src
COPY deploy/docker-entrypoint.sh /usr/local/bin/mailslot-entrypoint
USER mailslot
EXPOSE 3000
# the web role (and `start`) answers /healthz; a worker serves no HTTP (deploy/compose.yaml turns this off for it)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["mailslot-entrypoint", "node", "bin/mailslot.js"]
CMD ["start"]
