# The Kollect operator image: `node /app/dist/worker/operator.js` on Node 24, production
# dependencies only, as an unprivileged user. The Helm chart's default image is built from this
# file and its Deployment spells out the same entrypoint (test/helm checks they agree).
#
# Why Debian slim and not a distroless base: the git and gitlab sinks run the `git` binary (and
# git-remote-https with libcurl), which a distroless image does not have. Nothing runs a shell at
# run time (exec-form entrypoint), but the base image still contains one.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api api
COPY store store
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY watcher watcher
COPY scripts/bundle-workflows.ts scripts/bundle-workflows.ts
# tsc → dist/, and the prebuilt workflow bundle dist/workflow-bundle.js (no webpack at start).
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 kollect \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin kollect
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
ENV NODE_ENV=production
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["node", "/app/dist/worker/operator.js"]
