# quorumlite node image. better-sqlite3 builds from source, so the build stage has a compiler.
# Both stages use one exact Node.js release: the native module is built for the runtime that loads
# it, and a rebuild of the image gets the Node.js it was tested with, not whatever 20.x is newest.
# Node.js 20 is past its end of life; moving to 22 or 24 (package.json's engines allows both) means
# running the test suite on that release first.
FROM node:20.20.2-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
ENV NODE_ENV=production
# Large buffers reused instead of mapped afresh for every copy of a large request
# (NODE_MALLOC_ENV in libs/cluster/src/cluster.ts says why).
ENV MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864
VOLUME ["/data"]
EXPOSE 7001
# A heap that grows by half of what survives a full collection, not four times it, a smaller
# young generation, and collections on the node's own thread (NODE_RUNTIME_FLAGS in
# libs/cluster/src/cluster.ts says why).
ENTRYPOINT ["node", "--heap-growing-percent=50", "--max-semi-space-size=4", "--single-threaded-gc", "dist/apps/node/main.js"]
