# edgelake container image, as the Bacalhau job specs in jobs/ run it. Build it for every node
# architecture at once: a Bacalhau node bids only for images whose manifest lists its platform
# (ARM edge boxes refuse a single-architecture amd64 image). See jobs/README.md.
#   docker buildx build --platform linux/amd64,linux/arm64 -t registry.example.com/edgelake:0.1.0 --push .
# Without a Docker engine, scripts/check-dockerfile.sh runs these same steps in a clean folder.

# Build stage: better-sqlite3 compiles from source here (its prebuilt download is not always
# reachable), so the toolchain stays out of the runtime image.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libisal-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped so `prepare` (the full build) does not run before the sources are copied;
# better-sqlite3's native build is then run explicitly.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY assembly ./assembly
COPY native ./native
COPY scripts/build-native.mjs ./scripts/build-native.mjs
COPY src ./src
RUN npm run build && npm run build:native -- --require && npm prune --omit=dev

FROM node:20-bookworm-slim
# ISA-L's igzip compresses edgelake's gzip objects (build/native/igzip.node links libisal.so.2).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libisal2 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# glibc gives every thread its own malloc arena, and the two worker threads' arenas fill to ~60 MB
# each with freed batch buffers that are never handed back; two arenas in all take 10-45 MB off the
# peak RSS of a 1M-row drain at no measured throughput cost (bench/README.md, fourth pass).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
# Runs as root on purpose: the sensor database folder is mounted from the host, and SQLite in
# WAL mode needs to create its -wal/-shm files there whatever the host folder's owner is.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=150", "/app/build/cli/main.js"]
