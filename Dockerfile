# The newswatch image: the Prefect server, its services and the workers all run from it, so every
# process shares one pinned Prefect. Build: docker compose build
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY newswatch ./newswatch
COPY classifiers ./classifiers
COPY flows ./flows
COPY seeds ./seeds
COPY prefect.yaml ./
# prefect-redis: the messaging broker/cache the API server and the background services share
RUN pip install ".[postgres]" prefect-redis
RUN useradd --create-home newswatch && mkdir -p /data && chown newswatch /data
USER newswatch
ENV NEWSWATCH_HOME=/data PREFECT_SERVER_ANALYTICS_ENABLED=false
CMD ["newswatch", "--help"]
