# Multi-stage build on Debian bookworm: the build stage installs the build dependencies (the
# build_pkgs of scripts/install-deps, plus python3 for ctest's configure and npm for the chat
# page's socket.io client), compiles tether, tether-chat and tether-bench and runs the unit tests
# (`ctest -L unit`); the runtime stage carries only the three binaries, their shared libraries,
# the chat page (web root) and a default config, and runs as an unprivileged user.
#   docker build -t tether:latest .                         (from the repository root)
#   docker run --rm -p 8080:8080 tether:latest -c /etc/tether/tether.yaml
#   docker run --rm --entrypoint tether-chat tether:latest --host 0.0.0.0 --port 8001 \
#     --redis redis://redis:6379 --web-root /usr/share/tether-chat/web
#   docker run --rm --entrypoint tether-bench tether:latest affinity --e2e --out /tmp --no-plot
# deploy/ (docker-compose.yml, k8s/) uses this image. .dockerignore keeps build trees and
# node_modules of the host out of the context.
FROM debian:bookworm AS build
WORKDIR /src
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config ca-certificates libuv1-dev node-llhttp libssl-dev \
      libxxhash-dev libyaml-cpp-dev prometheus-cpp-dev doctest-dev libhiredis-dev nlohmann-json3-dev libc-ares-dev \
      python3 npm \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN (cd backend/web && npm install --no-audit --no-fund --loglevel=error) \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j"$(nproc)" \
    && (cd build && ctest -L unit --output-on-failure)

FROM debian:bookworm-slim AS runtime
# Shared libraries of the three binaries (llhttp is compiled in; nlohmann-json is header-only).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libuv1 libssl3 libxxhash0 libyaml-cpp0.7 libprometheus-cpp-core1.0 libhiredis0.14 libc-ares2 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --shell /usr/sbin/nologin tether
COPY --from=build /src/build/proxy/tether /usr/local/bin/tether
COPY --from=build /src/build/backend/tether-chat /usr/local/bin/tether-chat
COPY --from=build /src/build/bench/tether-bench /usr/local/bin/tether-bench
COPY --from=build /src/backend/web /usr/share/tether-chat/web
COPY --from=build /src/conf/tether.yaml /etc/tether/tether.yaml
USER tether
# 8080: tether's listener; 9901: tether's admin listener (when configured); 8001: tether-chat as
# deploy/ runs it (--port 8001). tether-chat needs --web-root /usr/share/tether-chat/web: its
# compiled-in default is the build tree's backend/web.
EXPOSE 8080 9901 8001
ENTRYPOINT ["/usr/local/bin/tether"]
CMD ["-c", "/etc/tether/tether.yaml"]
