# syntax=docker/dockerfile:1
# Posthorn in a container: the same binary as `bun run build`, built by the same steps as
# .ci/run (`bun install --frozen-lockfile`, `bun run build`), run as a non-root user with its
# data directory (SQLite database, generated secret key) on a volume.
#
#   docker build -t posthorn .
#   docker run -p 8080:8080 -v posthorn-data:/data -e POSTHORN_ADMIN_KEY=… posthorn
#   docker run --rm -v posthorn-data:/data posthorn tenant create --name Acme

FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock ./
# Fixes to dependencies, applied by bun install (patches/README.md says why each exists).
COPY patches ./patches
RUN bun install --frozen-lockfile
COPY tsconfig.json bunfig.toml ./
COPY migrations ./migrations
COPY src ./src
RUN bun run build \
  && ./dist/posthorn version \
  && mkdir -p /rootfs/data

# The binary needs only glibc (and CA certificates for SMTP over TLS): distroless base has both,
# and no shell or package manager. Its `nonroot` user is uid/gid 65532.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /src/dist/posthorn /usr/local/bin/posthorn
# A volume mounted here for the first time copies this directory, owner included.
COPY --from=build --chown=65532:65532 /rootfs/data /data
USER 65532:65532
WORKDIR /data
ENV POSTHORN_DATA_DIR=/data \
    POSTHORN_HOST=0.0.0.0 \
    POSTHORN_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
# `posthorn healthcheck` asks http://127.0.0.1:$POSTHORN_PORT/health/ready (no curl in this image);
# set the port with POSTHORN_PORT rather than `serve --port` so that both agree.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/posthorn", "healthcheck", "--timeout", "4000"]
ENTRYPOINT ["/usr/local/bin/posthorn"]
CMD ["serve"]
