# Prometheus from Debian's package, for machines that reach no image registry (build-images.sh).
# It runs like prom/prometheus: the same entrypoint role, config and storage paths; wget for the
# healthcheck, as busybox gives the official image.
ARG BASE_IMAGE=lab-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
