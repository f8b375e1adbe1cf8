# syntax=docker/dockerfile:1
# SafeStream: build the virtualenv in one stage, run as a non-root user in a slim one.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY setup.cfg pyproject.toml constraints.txt README.md ./
COPY safestream ./safestream
# Editable install: templates/, static/ and migrations/ are found next to the package.
RUN /opt/venv/bin/pip install -c constraints.txt -e ".[sentence]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 safestream
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=safestream:safestream . /app
RUN mkdir -p /app/data /app/logs && chown safestream:safestream /app/data /app/logs
USER safestream
ENV PATH=/opt/venv/bin:$PATH \
    APP_HOST=0.0.0.0 \
    APP_PORT=8000 \
    SAFESTREAM_ENV=production \
    SAFESTREAM_DEMO=0
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"APP_PORT\"]}/healthz')"
# Migrate, then serve (serve also migrates, idempotently; this fails fast on a bad DATABASE_URL).
CMD ["sh", "-c", "safestream migrate && exec safestream serve"]
