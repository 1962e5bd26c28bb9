# syntax=docker/dockerfile:1
# credichain node image. Build: docker build -t credichain:dev .
# Run: docker run -v credichain-data:/data credichain:dev   (docs/operations.md)
# BASE_IMAGE: any Debian-like image with python3 (3.11 or 3.12) and its venv
# module: python:3.12-slim (default), or Debian's python3 as `make image-test`
# builds it. Only `python3` is used before the venv exists (Debian has no `python`).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Every dependency ships manylinux wheels (plyvel bundles libleveldb): no compiler.
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies and the build backend first, read from pyproject.toml alone, so
# a source change reuses this layer and builds offline.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(p['project']['dependencies'] + p['build-system']['requires']))" > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt
COPY . .
# The explorer's built files sit beside the packages, where rpc/app.py looks
# for them (served at /explorer/ only when [rpc] explorer = true).
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && mkdir -p "$site/explorer" && cp -r explorer/dist "$site/explorer/dist" \
    && credichain version

FROM ${BASE_IMAGE}
RUN groupadd --gid 10001 credichain \
    && useradd --uid 10001 --gid credichain --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin credichain \
    && mkdir -p /data && chown credichain:credichain /data
COPY --from=build /opt/venv /opt/venv
# The network generator (compose's init service, Kubernetes set-up) and the health check.
COPY deploy/init_network.py deploy/healthcheck.py /opt/credichain/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CREDICHAIN_P2P__LISTEN=0.0.0.0:30333 \
    CREDICHAIN_RPC__LISTEN=0.0.0.0:9944 \
    CREDICHAIN_METRICS__LISTEN=0.0.0.0:9615 \
    CREDICHAIN_NODE__LOG_FORMAT=json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 30333 9944 9615
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/credichain/healthcheck.py"]
ENTRYPOINT ["credichain"]
CMD ["node", "start", "--home", "/data"]
