# acsync: the daemon (`acsync run`) in a slim image. Build: docker build -t acsync .
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
LABEL org.opencontainers.image.title="acsync" \
      org.opencontainers.image.description="Lead scoring for ActiveCampaign, kept in a local SQLite ledger"
RUN groupadd --system --gid 10001 acsync \
    && useradd --system --uid 10001 --gid acsync --home-dir /data --shell /usr/sbin/nologin acsync \
    && mkdir -p /data /etc/acsync \
    && chown acsync:acsync /data
COPY --from=build /install /usr/local
COPY config.example.toml /etc/acsync/acsync.toml
# Mount your own config over /etc/acsync/acsync.toml; secrets come from the environment:
# ACSYNC_ACTIVECAMPAIGN__API_TOKEN and ACSYNC_WEBHOOK__TOKEN.
ENV ACSYNC_CONFIG=/etc/acsync/acsync.toml \
    ACSYNC_DB=/data/acsync.db \
    ACSYNC_WEBHOOK__HOST=0.0.0.0 \
    ACSYNC_WEBHOOK__PORT=8080 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["acsync", "run"]
