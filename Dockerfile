# syntax=docker/dockerfile:1
# The one `mcf` binary in a small image: every service, the portal and the sandboxes; which
# one a container runs is its command (`serve iam`, `serve portal`, `migrate --distributed`,
# `sandbox bank`). Deployment files: deploy/ (docs/deployment.md).
#
#   docker build -t mcf:latest .
#
# Build and run stages use the same Debian release, so the binary finds the glibc it was
# linked against.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target dir between builds (BuildKit); the binary is
# copied out of the cached target dir because a cache mount is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p mcf \
    && install -m 0755 target/release/mcf /usr/local/bin/mcf

FROM debian:bookworm-slim
# ca-certificates: TLS to SMTP, the bank, the cookie contractor and S3. curl: the
# healthchecks of deploy/compose (the image has no other HTTP client).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mcf \
    && useradd --system --uid 10001 --gid mcf --home-dir /var/lib/mcf --shell /usr/sbin/nologin mcf \
    && install -d -o mcf -g mcf /var/lib/mcf /var/lib/mcf/data /var/lib/mcf/objects /var/lib/mcf/smtp
COPY --from=build /usr/local/bin/mcf /usr/local/bin/mcf
# Numeric, so Kubernetes' runAsNonRoot can verify it without a user database.
USER 10001:10001
WORKDIR /var/lib/mcf
EXPOSE 8080
ENTRYPOINT ["mcf"]
# Without a command: the whole system embedded (SQLite in /var/lib/mcf/data), as `mcf up`.
CMD ["up", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/mcf/data"]
