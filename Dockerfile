# credmock as a container: `make image` builds it (it first fills build/wheelhouse/ with credmock's
# wheel and its locked runtime dependencies, so this build needs no Python package index).
#   podman run --rm -p 8080:8080 -e CREDMOCK_CONTROL_TOKEN=secret localhost/credmock
# See docs/container.md.

FROM debian:bookworm-slim AS install
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY build/wheelhouse/ /tmp/wheelhouse/
RUN python3 -m venv /opt/credmock \
    && /opt/credmock/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse credmock \
    && /opt/credmock/bin/pip uninstall --yes --quiet pip setuptools

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="credmock" \
      org.opencontainers.image.description="Contract-first, stateful mock of the Emporix Customer Service credentials API"
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin credmock
COPY --from=install /opt/credmock /opt/credmock
# Every serve option is read from CREDMOCK_<OPTION> too (flags win): listen beyond the container.
ENV PATH=/opt/credmock/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CREDMOCK_HOST=0.0.0.0 \
    CREDMOCK_PORT=8080
# Numeric, so that a cluster's "run as non-root" check can verify it.
USER 10001:10001
EXPOSE 8080
# Healthy once /_mock/health answers 200; it needs the control token when the server has one, so
# give the token as CREDMOCK_CONTROL_TOKEN (python3 rather than curl: nothing more to install).
# A shared store that is down makes /_mock/health answer 503 (within --store-timeout), and the
# check fail until it is back; /_mock/live is the probe that ignores the store.
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 CMD ["python3", "-c", "\
import os, urllib.request as r; token = os.environ.get('CREDMOCK_CONTROL_TOKEN'); \
port = os.environ.get('CREDMOCK_PORT') or '8080'; \
r.urlopen(r.Request(f'http://127.0.0.1:{port}/_mock/health', \
headers={'X-Mock-Control-Token': token} if token else {}), timeout=4)"]
ENTRYPOINT ["credmock"]
CMD ["serve"]
