# coachapp: one image for web, worker and beat (compose.yaml runs it three times).
#   docker build -t coachapp .
# Dependencies come from requirements.lock (exact versions, hashes checked); the app is installed
# as a wheel, which carries rules/, templates/ and migrations/ (see setup.py).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/coachapp
COPY requirements.lock /src/
RUN /opt/coachapp/bin/pip install --require-hashes -r /src/requirements.lock
COPY pyproject.toml setup.py MANIFEST.in README.md /src/
COPY coachapp /src/coachapp
COPY rules /src/rules
COPY templates /src/templates
COPY migrations /src/migrations
RUN /opt/coachapp/bin/pip wheel --no-deps -w /wheels /src \
 && /opt/coachapp/bin/pip install --no-deps /wheels/coachapp-*.whl

FROM python:3.11-slim
# COACHAPP_ENV=production: the app refuses to start without a real SECRET_KEY and an https
# BASE_URL, and logs JSON lines. The instance folder (beat's schedule file) is a volume.
ENV PATH=/opt/coachapp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COACHAPP_ENV=production \
    COACHAPP_INSTANCE=/var/lib/coachapp \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --uid 10001 --home-dir /var/lib/coachapp --create-home coachapp
COPY --from=build /opt/coachapp /opt/coachapp
USER coachapp
WORKDIR /var/lib/coachapp
EXPOSE 8000
CMD ["gunicorn", "-c", "python:coachapp.gunicorn_conf", "coachapp.wsgi:app"]
