# One image for every tier; REQUIREMENTS picks web (Django, no torch) or worker (torch, TRL; no Django).
# On an x86-64 build host without a local CPU wheel, PyPI's torch==2.13.0 is the CUDA build.
FROM python:3.11-slim
ARG REQUIREMENTS=web
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/${REQUIREMENTS}.txt -c requirements/${REQUIREMENTS}.lock
COPY . .
RUN if [ "$REQUIREMENTS" = "web" ]; then \
      SECRET_KEY=build-only-collectstatic-key-that-is-long-enough-000000000000 ALLOWED_HOSTS=build \
      DATABASE_URL=sqlite:////tmp/build.sqlite3 DJANGO_SETTINGS_MODULE=config.settings.prod \
      python manage.py collectstatic --noinput; fi
RUN useradd --create-home app && mkdir -p /data && chown app /data
USER app
