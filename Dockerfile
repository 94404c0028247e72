# acsync: the daemon (`acsync run`) in a slim image. Build: docker build -t acsync .
# What it installs is pinned with hashes in docker/requirements.txt (regenerate: `make lock`).
# PYTHON_IMAGE: any Debian-based image with python (≥ 3.11) and its venv module.
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python -m venv /opt/acsync
COPY docker/requirements.txt ./
RUN /opt/acsync/bin/pip install --no-cache-dir --require-hashes -r requirements.txt
COPY pyproject.toml README.md LICENSE config.example.toml ./
COPY src ./src
RUN /opt/acsync/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/acsync/bin/pip uninstall --yes setuptools

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="acsync" \
      org.opencontainers.image.description="Lead scoring for ActiveCampaign, kept in a local SQLite ledger" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 acsync \
    && useradd --system --uid 10001 --gid acsync --home-dir /data --shell /usr/sbin/nologin acsync \
    && mkdir -p /data /etc/acsync \
    && chown acsync:acsync /data
COPY --from=build /opt/acsync /opt/acsync
COPY config.example.toml /etc/acsync/acsync.toml
# Mount your own config over /etc/acsync/acsync.toml; secrets come from the environment:
# ACSYNC_ACTIVECAMPAIGN__API_TOKEN and ACSYNC_WEBHOOK__TOKEN.
ENV PATH=/opt/acsync/bin:$PATH \
    ACSYNC_CONFIG=/etc/acsync/acsync.toml \
    ACSYNC_DB=/data/acsync.db \
    ACSYNC_WEBHOOK__HOST=0.0.0.0 \
    ACSYNC_WEBHOOK__PORT=8080 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# The probe reads the config, so it follows ACSYNC_WEBHOOK__PORT wherever it is moved.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["acsync", "healthcheck"]
STOPSIGNAL SIGTERM
CMD ["acsync", "run"]
