# Multi-stage build on Debian bookworm: the build stage compiles and runs the unit tests; the
# runtime stage carries only the binaries and their shared libraries.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config ca-certificates libuv1-dev node-llhttp libssl-dev \
      libxxhash-dev libyaml-cpp-dev prometheus-cpp-dev doctest-dev libhiredis-dev nlohmann-json3-dev python3 npm \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN (cd backend/web && npm install --no-audit --no-fund) \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTETHER_BUILD_BENCH=OFF \
    && cmake --build build -j"$(nproc)" \
    && (cd build && ctest -L unit --output-on-failure)

FROM debian:bookworm-slim AS runtime
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libuv1 libssl3 libxxhash0 libyaml-cpp0.7 libprometheus-cpp-core1.0 libhiredis0.14 curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/proxy/tether /usr/local/bin/tether
COPY --from=build /src/build/backend/tether-chat /usr/local/bin/tether-chat
COPY --from=build /src/backend/web /usr/share/tether-chat/web
COPY --from=build /src/conf/tether.yaml /etc/tether/tether.yaml
# tether-chat serves its page from --web-root /usr/share/tether-chat/web (see deploy/).
EXPOSE 8080 8001
ENTRYPOINT ["/usr/local/bin/tether"]
CMD ["-c", "/etc/tether/tether.yaml"]
