# Dockerfile — the measured daemon on Debian 12 slim.
#
#   docker build -t measured .
#   docker run -d -p 127.0.0.1:8080:8080 -e MEASURED_TOKEN=secret \
#              -v measured-data:/var/lib/measured measured
#
# Two stages: `build` installs the toolchain with the same
# deploy/install-deps.sh as `make test` / `make run` and builds with the same
# make target (`make all`); the runtime stage gets only the shared libraries
# (install-deps.sh --runtime), the two binaries and an unprivileged user.
# Every daemon flag is also an environment variable MEASURED_<NAME>
# (docs/api.md): the token comes from MEASURED_TOKEN, never from the image.
#
# `make docker-test` builds and runs this file without a registry: its base
# image is made with debootstrap and tagged debian:bookworm-slim.

FROM debian:bookworm-slim AS build
# CHECK=1 also runs the whole test suite (`make test`) inside the build.
ARG CHECK=0
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" all && \
    if [ "$CHECK" = 1 ]; then make test; fi

FROM debian:bookworm-slim
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh && \
    useradd --system --uid 10001 --user-group --home-dir /var/lib/measured \
            --shell /usr/sbin/nologin measured && \
    install -d -o measured -g measured -m 0700 /var/lib/measured
COPY --from=build /src/build/measured /src/build/measurectl /usr/local/bin/

# The store (SQLite + WAL) lives on the volume; one daemon per store.
VOLUME /var/lib/measured
ENV MEASURED_LISTEN=0.0.0.0:8080 \
    MEASURED_STORE=/var/lib/measured/measured.db \
    OPENBLAS_NUM_THREADS=1
EXPOSE 8080
USER measured:measured
WORKDIR /var/lib/measured
# /healthz never needs the token. The port follows MEASURED_LISTEN.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${MEASURED_LISTEN##*:}/healthz" || exit 1
# SIGTERM: running jobs stop at an iteration boundary, are recorded as
# queued and re-run on the next start; give them time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/measured"]
