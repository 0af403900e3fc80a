# Redis from Debian's package, for machines that reach no image registry (build-images.sh); it
# has redis-server and redis-cli on PATH, like the official image.
ARG BASE_IMAGE=lab-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
CMD ["redis-server"]
