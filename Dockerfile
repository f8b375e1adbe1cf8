# syntax=docker/dockerfile:1
# SafeStream: build the wheel in one stage; install and run it as a non-root user in a slim one.
# tests/test_wheel.py::test_container_steps performs these same steps without Docker: keep them in step.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
# 1. Build the wheel: templates/, static/, migrations/, docs/ and alembic.ini ship inside it.
RUN pip wheel --no-deps -w /wheels .

FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --user-group safestream \
    && mkdir -p /opt/venv /var/lib/safestream \
    && chown safestream:safestream /opt/venv /var/lib/safestream
COPY --from=build /wheels /wheels
COPY --from=build /src/constraints.txt /wheels/constraints.txt
USER 10001
# 2. A fresh venv, installed by the non-root user; nothing of the source tree is needed at run time.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /wheels/constraints.txt "$(ls /wheels/safestream-*.whl)[sentence]"
WORKDIR /var/lib/safestream
# 3. Production: SAFESTREAM_ENV=production refuses to start without JWT_SECRET_KEY (32+ random characters),
#    e.g. `docker run -e JWT_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"`.
ENV PATH=/opt/venv/bin:$PATH \
    APP_HOST=0.0.0.0 \
    APP_PORT=8000 \
    SAFESTREAM_ENV=production \
    SAFESTREAM_DEMO=0 \
    SAFESTREAM_DATA_DIR=/var/lib/safestream/data \
    SAFESTREAM_LOG_DIR=/var/lib/safestream/logs
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD ["python", "-c", "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"APP_PORT\"]}/healthz')"]
# 4. Migrate, then serve (serve also migrates, idempotently; this fails fast on a bad DATABASE_URL).
#    exec makes the server PID 1, so `docker stop` (SIGTERM) reaches it: it drains and exits.
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "safestream migrate && exec safestream serve"]
