# mailslot: one process serving the Graph webhooks and the admin API, running
# the pollers and the email handler queue. Expects DATABASE_URL.
FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MAILSLOT_DATA_DIR=/var/lib/mailslot
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY sql ./sql
RUN useradd --system --create-home --home-dir /var/lib/mailslot mailslot
USER mailslot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# the young-generation bound scripts/with-node.sh explains
ENV NODE_OPTIONS=--max-semi-space-size=16
ENTRYPOINT ["node", "bin/mailslot.js"]
CMD ["start"]
