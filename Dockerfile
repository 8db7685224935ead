# One image for every process of the shop; deploy/entrypoint.sh is its entry:
#   docker run IMAGE migrate     -> bring the schema up to date, then exit (one-off)
#   docker run IMAGE             -> gunicorn web workers (gunicorn.conf.py); never migrates
#   docker run IMAGE scheduler   -> background jobs (one active, others stand by)
# and, as the target `edge`, the live edge (nginx with RTMP and Nchan; compose.yaml).
# Checked by hadolint (tests/core/test_dockerfile.py).
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GONGFANG_ENV=production PORT=8000
WORKDIR /srv/gongfang
# ffmpeg joins the edge's recordings into the replays' MP4 files (docs/LIVE_EDGE.md).
# Debian's versions are not pinned: the base image's release fixes them, and a pinned
# version disappears from the archive with its next security update.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app.py models_registry.py alembic.ini gunicorn.conf.py ./
COPY core core
COPY accounts accounts
COPY catalog catalog
COPY shop shop
COPY income income
COPY livestream livestream
COPY migrations migrations
COPY templates templates
COPY static static
COPY deploy deploy
# The project itself; its dependencies' ranges are in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[redis]' \
    && flask --app app compile-translations \
    && useradd --system --uid 10001 --home-dir /srv/gongfang gongfang \
    && mkdir -p instance && chown 10001 instance
# A numeric user, so an orchestrator can see it is not root without the image's passwd.
USER 10001
EXPOSE 8000
# Liveness only: the process answers. Readiness (the database, Redis, the edge) is
# /readyz, for the load balancer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["/srv/gongfang/deploy/entrypoint.sh"]
CMD ["web"]

# The live edge: Debian's nginx and its two modules, configured by the app's own
# `flask edge-config` (the same secret, history and addresses as the app it fronts).
FROM app AS edge
USER 0
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx libnginx-mod-rtmp libnginx-mod-nchan \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /srv/edge/recordings && chown -R 10001 /srv/edge
USER 10001
EXPOSE 8080 1935
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_edge/health', timeout=4)"]
CMD ["edge"]
