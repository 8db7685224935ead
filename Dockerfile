# One image for web workers and the scheduler process:
#   docker run IMAGE                      -> gunicorn web workers
#   docker run IMAGE flask --app app scheduler
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GONGFANG_ENV=production
WORKDIR /srv/gongfang
COPY pyproject.toml README.md ./
COPY app.py models_registry.py alembic.ini ./
COPY core core
COPY accounts accounts
COPY catalog catalog
COPY shop shop
COPY livestream livestream
COPY migrations migrations
COPY templates templates
COPY static static
RUN pip install --no-cache-dir '.[redis]' \
    && flask --app app compile-translations \
    && useradd --system --home /srv/gongfang gongfang \
    && mkdir -p instance && chown gongfang instance
USER gongfang
EXPOSE 8000
# gevent workers: a held live-room event stream costs a greenlet, not a thread or a
# worker, so thousands of viewers leave page requests their speed (docs/PERFORMANCE.md).
CMD ["sh", "-c", "flask --app app db-upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --worker-class gevent --worker-connections 4000 --access-logfile - app:app"]
