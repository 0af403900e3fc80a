# The patient, with the profilers installed so the sidecar (and you) can attach.
# Any base with Python 3.11 and its venv module works: the official slim image by default, or a
# Debian root filesystem built locally where no registry is reachable (docker/build-images.sh).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# lldb, gdb: memray attach injects through one of them (gdb 13 fails on CPUs with AMX); procps: ps/pgrep for finding PIDs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends lldb gdb procps \
    && rm -rf /var/lib/apt/lists/*

# A virtual environment: Debian's own python3 refuses a system-wide pip install (PEP 668).
RUN python3 -m venv /opt/lab
ENV PATH=/opt/lab/bin:$PATH

WORKDIR /lab
COPY pyproject.toml requirements.lock README.md ./
COPY leaky_app ./leaky_app
COPY labctl ./labctl
COPY reputation ./reputation
COPY dashboards ./dashboards
COPY loadgen ./loadgen
COPY labs ./labs
COPY notebooks ./notebooks
# Editable, so labctl finds its labs, dashboards and locustfile under /lab (where compose mounts
# them), not in site-packages where they are not installed.
RUN pip install --no-cache-dir -c requirements.lock -e '.[profilers,load,notebooks,jupyter]'

# Big freed buffers go back to the OS at once (see SERVICE_ENV in labctl/stack/service.py).
ENV MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 8000 8001 9464
CMD ["leaky-app", "--host", "0.0.0.0", "--metrics-host", "0.0.0.0", "--db", "/data/leaky_app.db", \
     "--flags-file", "/data/flags.json", "--debug-token-file", "/data/debug.token", \
     "--operator-token-file", "/data/operator.token"]
