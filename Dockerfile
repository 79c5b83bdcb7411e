# syntax=docker/dockerfile:1
# Build: docker build -t exporter .   Run: docker run -e DATABASE_URL=postgresql://... -p 8000:8000 exporter

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EXPORTER_HOST=0.0.0.0 \
    EXPORTER_PORT=8000 \
    EXPORTER_SQL_DIR=/app/sql/exports \
    EXPORTER_DATA_DIR=/app/.data
RUN useradd --system --create-home --home-dir /app --uid 10001 exporter
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=exporter:exporter sql ./sql
USER exporter
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"EXPORTER_PORT\"]}/healthz', timeout=2)"]
ENTRYPOINT ["exporter", "serve"]
