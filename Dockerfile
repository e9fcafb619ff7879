# cshub production image: gunicorn (web), celery worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3

WORKDIR /app

# Dependencies first, read from pyproject.toml, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Editable, not `pip install .`: settings find templates/ and static/ beside manage.py (BASE_DIR = /app),
# which a copy into site-packages would not have.
RUN pip install --no-deps -e . \
    && SECRET_KEY=build-time-only-not-a-secret python manage.py collectstatic --no-input --verbosity 0

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin cshub
USER cshub

EXPOSE 8000
# The health check lives in docker-compose.yml: the same image also runs the worker and beat.
# Gunicorn reads WEB_CONCURRENCY for its number of worker processes.
CMD ["gunicorn", "cshub.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--timeout", "60"]
