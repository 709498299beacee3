# flexsim: ONE image for every role of a run (chain, deployer, aggregator, grid operator, prosumer,
# report). The role is the command: `docker run IMAGE compile`, `... aggregator`, `... grid-operator`,
# `... python -m prosumer`, `... anvil --host 0.0.0.0 --hardfork london`; see docker-compose.yml.
#
#   docker build --network host -t flexsim:local .        (or: docker compose build)
#
# Base: Debian bookworm with Python 3.11. Where Docker Hub is unreachable, scripts/docker-base-image.sh
# builds a local stand-in with the same tag (debootstrap; python3.11 from Debian). Builds run apt-get,
# npm and pip: where the default build network has no route out, build with `--network host`.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ----------------------------------------------------------------------------------------------- build
FROM ${BASE_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Behind a TLS-inspecting proxy, npm and pip need its CA: pass the PEM text as the build argument
# EXTRA_CA_CERTS (scripts/test-docker.sh passes the machine's /usr/local/share/ca-certificates/*.crt).
# It is trusted in this build stage only; the runtime image keeps Debian's CA list.
ARG EXTRA_CA_CERTS=""
RUN mkdir -p /opt/build-ca \
 && printf '%s\n' "$EXTRA_CA_CERTS" > /opt/build-ca/extra.pem \
 && cat /etc/ssl/certs/ca-certificates.crt /opt/build-ca/extra.pem > /opt/build-ca/bundle.pem
ENV PIP_CERT=/opt/build-ca/bundle.pem \
    NODE_EXTRA_CA_CERTS=/opt/build-ca/bundle.pem \
    npm_config_cafile=/opt/build-ca/bundle.pem

WORKDIR /opt/flexsim
# The npm tools (solc as WebAssembly, anvil's native binary) from package-lock.json. Never
# --omit=optional: anvil's binary is an optional, per-platform dependency.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error && rm -rf /root/.npm
# anvil is a native binary. npm takes it from the per-platform optional package
# (@foundry-rs/anvil-linux-amd64), which declares Node >= 20: Debian bookworm's Node 18 npm skips it,
# and anvil's postinstall then fetches that same package from the npm registry (integrity-checked)
# and puts its binary at @foundry-rs/anvil/anvil; npm 9 also drops the .bin/anvil link. Link
# .bin/anvil to whichever native binary is there and check it runs.
RUN set -e; \
    for b in node_modules/@foundry-rs/anvil-linux-*/bin/anvil node_modules/@foundry-rs/anvil/anvil; do \
      if [ -x "$b" ]; then native="$b"; break; fi; \
    done; \
    test -n "${native:-}" || { echo "no anvil binary after npm ci" >&2; exit 1; }; \
    ln -sf "../${native#node_modules/}" node_modules/.bin/anvil; \
    node_modules/.bin/anvil --version

# Python dependencies first, pinned by constraints.txt, in a layer of their own (rebuilt only when
# pyproject.toml or constraints.txt change); then the package itself, not editable.
RUN python3 -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && /opt/venv/bin/pip install -c constraints.txt -r /tmp/requirements.txt
COPY base/ base/
COPY flexsim/ flexsim/
COPY benchmarks/ benchmarks/
COPY contracts/ contracts/
COPY domain/ domain/
COPY aggregator/ aggregator/
COPY prosumer/ prosumer/
COPY grid_operator/ grid_operator/
COPY simulation/ simulation/
COPY console/ console/
RUN /opt/venv/bin/pip install -c constraints.txt . && /opt/venv/bin/flexsim --version

# --------------------------------------------------------------------------------------------- runtime
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# Node.js runs the solc wrapper and anvil's launcher (npm is only needed to build); tini is PID 1 so
# signals reach the process and `docker stop` is quick; setpriv (util-linux) drops privileges in the
# one service that starts as root (the report, to write into the host's ./results as its owner).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 flexsim \
 && useradd --uid 10001 --gid flexsim --create-home --shell /usr/sbin/nologin flexsim \
 && mkdir -p /opt/flexsim/cache /shared /data /results \
 && chown flexsim:flexsim /opt/flexsim/cache /shared /data /results \
 && chmod 2775 /shared /data /results

COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/flexsim/node_modules /opt/flexsim/node_modules
COPY scenarios/ /opt/flexsim/scenarios/
COPY docker/scenario.toml /opt/flexsim/scenarios/docker.toml
COPY docker/entrypoint.sh /usr/local/bin/flexsim-entrypoint
COPY docker/chain.sh /usr/local/bin/flexsim-docker-chain
COPY docker/deploy.sh /usr/local/bin/flexsim-docker-deploy
COPY docker/report.sh /usr/local/bin/flexsim-docker-report
COPY docker/healthcheck.py /usr/local/bin/flexsim-healthcheck
COPY docker/wait.py /usr/local/bin/flexsim-wait
RUN chmod 0755 /usr/local/bin/flexsim-*

# The package is installed (not editable), so the tools are found through settings, not the checkout.
ENV PATH=/opt/venv/bin:/opt/flexsim/node_modules/.bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CHAIN_NODE_MODULES=/opt/flexsim/node_modules \
    CHAIN_ANVIL_BINARY=/opt/flexsim/node_modules/.bin/anvil \
    CHAIN_CACHE_DIR=/opt/flexsim/cache \
    MPLCONFIGDIR=/tmp/matplotlib

USER flexsim
WORKDIR /home/flexsim
# A native solc of the pinned version where its download site is reachable (it is preferred over the
# npm WebAssembly build; same compiler version, same bytecode); skipped quietly where it is not.
ARG NATIVE_SOLC=auto
RUN if [ "$NATIVE_SOLC" = auto ]; then \
      timeout 90 python -c "import solcx; from contracts.compiler import SOLC_VERSION as v; solcx.install_solc(v)" \
        >/dev/null 2>&1 && echo "native solc installed" || echo "native solc not reachable: npm solc it is"; \
    fi
# Compile the contracts now (content-addressed cache in CHAIN_CACHE_DIR), so no container compiles.
RUN flexsim compile

ENTRYPOINT ["tini", "--", "flexsim-entrypoint"]
CMD ["--help"]
