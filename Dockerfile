# One image for every Tierwise process:
#   web:    docker run ... tierwise            (gunicorn, the default command)
#   worker: docker run ... tierwise tierwise worker
#   schema: docker run ... tierwise tierwise db upgrade   (with TIERWISE_MIGRATION_DATABASE_URL = the owner)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIERWISE_ENV=production \
    TIERWISE_INSTANCE_PATH=/var/lib/tierwise

# LightGBM needs the OpenMP runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin tierwise \
 && mkdir -p /var/lib/tierwise && chown tierwise:tierwise /var/lib/tierwise

WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY tierwise ./tierwise
COPY templates ./templates
COPY static ./static
COPY translations ./translations
COPY migrations ./migrations
RUN pip install -e . && pybabel compile -d translations -D messages

USER tierwise
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--worker-class", "gthread", \
     "--limit-request-line", "8190", \
     "--timeout", "120", "--access-logfile", "-", "tierwise.platform.wsgi:app"]
