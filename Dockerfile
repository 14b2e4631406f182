# syntax=docker/dockerfile:1
# Rapport server image: rapportd, rapportctl, the plugin SDK library and the
# first-party plugins on Debian 12, running as an unprivileged user.
#
#   docker build -t rapport:0.1.0 .            # or: podman build ...
#   tests/image/build_image.sh                 # offline build + smoke test
#
# Base images are pinned by tag. For reproducible production builds pin the
# digest as well, e.g.
#   FROM debian:bookworm-slim@sha256:<digest> AS build
# (`docker buildx imagetools inspect debian:bookworm-slim` prints it) and let
# a bot (Renovate, Dependabot) bump it.

# ---------------------------------------------------------------- build ----
FROM debian:bookworm-slim AS build

# The -dev packages of ./rapport's DEB_PACKAGES, without the database server
# and developer-only tools (tests/image/dockerfile_lint.py keeps them in sync).
# GTest/GMock stay: the CMake project requires them at configure time.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev libmysqlcppconn-dev libboost-dev libboost-filesystem-dev \
      libgtest-dev libgmock-dev libyaml-cpp-dev libssl-dev libphonenumber-dev \
      libcli11-dev libfmt-dev libcsv-dev libsimdjson-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Release build; rapportd looks for first-party plugins where the runtime
# stage puts them. Optional targets (plugins, rapportctl) are built when the
# source tree has them. -Wno-error=restrict: GCC 12 reports false positives
# in std::string at -O3 (GCC bug 105651); warnings stay errors otherwise.
RUN set -eu; \
    cmake -G Ninja -S . -B /build \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS=-Wno-error=restrict \
      -DRAPPORT_DEFAULT_PLUGIN_DIR=/usr/lib/rapport/plugins; \
    targets="rapportd"; \
    if ninja -C /build -t targets all | grep -q '^rapportctl:'; then \
      targets="$targets rapportctl"; \
    fi; \
    if ninja -C /build -t targets all | grep -q '^plugins/all:'; then \
      targets="$targets plugins/all"; \
    fi; \
    ninja -C /build $targets

# Assemble the runtime tree in /out.
RUN set -eu; \
    mkdir -p /out/usr/bin /out/usr/lib/rapport/plugins; \
    install -m 0755 -s /build/server/app/rapportd /out/usr/bin/rapportd; \
    if [ -x /build/clients/rapportctl ]; then \
      install -m 0755 -s /build/clients/rapportctl /out/usr/bin/rapportctl; \
    fi; \
    find /build -name 'librapport_sdk.so*' -exec cp -a {} /out/usr/lib/ \; ; \
    find /build/clients -maxdepth 1 -name 'librapport_client.so*' \
      -exec cp -a {} /out/usr/lib/ \; 2>/dev/null || true; \
    if [ -d /build/plugins/lib ]; then \
      find /build/plugins/lib -maxdepth 1 -name '*.so' \
        -exec install -m 0644 {} /out/usr/lib/rapport/plugins/ \; ; \
    fi

# -------------------------------------------------------------- runtime ----
FROM debian:bookworm-slim

# Runtime libraries only (no compilers, no -dev packages).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      libmysqlcppconn7v5 libyaml-cpp0.7 libphonenumber8 \
      libboost-filesystem1.74.0 libssl3 libfmt9 libcsv3 libsimdjson14 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/ /

# An unprivileged user with a fixed uid, so Kubernetes' runAsNonRoot can
# verify it (runAsUser: 10001 in the Helm chart).
RUN groupadd --system --gid 10001 rapport \
 && useradd --system --uid 10001 --gid rapport --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin rapport \
 && ldconfig

USER 10001:10001

# gRPC, and Prometheus metrics / health over HTTP.
EXPOSE 50051 9090
ENV RAPPORT_LISTEN=0.0.0.0:50051 \
    RAPPORT_METRICS_LISTEN=0.0.0.0:9090 \
    RAPPORT_PLUGIN_DIR=/usr/lib/rapport/plugins

ENTRYPOINT ["/usr/bin/rapportd"]
