# syntax=docker/dockerfile:1
# Bookworm pinned on purpose: its libmagic (5.44) is the one our file-type rules were measured on;
# 5.46 (trixie) misreports zips from memory buffers.
#
# The portal lives in a virtualenv (/opt/portal): the same steps work on python:3.11-slim-bookworm
# (Python in /usr/local) and on a plain Debian bookworm with python3 (whose system pip refuses to
# install: PEP 668), which tests/container/check.sh builds on.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY templates ./templates
COPY static ./static
RUN /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home portal
COPY --from=build /wheels /wheels
RUN python3 -m venv /opt/portal \
    && /opt/portal/bin/pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels
WORKDIR /app
USER portal
ENV PATH=/opt/portal/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PORTAL_STATE_PATH=/app/state.sqlite3 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/portal-metrics
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# `portal serve`: gunicorn with portal/gunicorn_conf.py when KOMBO_API_KEY is set; without a key,
# the sandbox demo (a local Kombo emulator and demo accounts), so the image can be tried as is.
CMD ["portal", "serve", "--host", "0.0.0.0", "--port", "8000"]
