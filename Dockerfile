# totp-toolset in a container: built with the official Rust image, run from distroless as a
# non-root user. The binary carries its templates and static files, so it is all we copy.
#
#   docker build -t totp-toolset .
#   docker run --rm --read-only --cap-drop ALL -p 127.0.0.1:8080:8080 totp-toolset

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY static ./static
COPY benches ./benches
# The default features only: the server talks to the NFC agent over HTTP, so the image needs
# no PC/SC library. .ci/run runs this exact line to prove it builds.
RUN cargo build --release --locked --bin totp-toolset

# cc: glibc and libgcc, nothing else (no shell, no package manager).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/totp-toolset /usr/local/bin/totp-toolset
# Inside the container the server must listen on every interface for -p to reach it; publish
# the port on 127.0.0.1 on the host unless you also turn on TLS.
ENV TOTP_TOOLSET_BIND=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
# The binary checks itself: no curl, no shell. It probes the address from TOTP_TOOLSET_BIND.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/totp-toolset", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/totp-toolset"]
CMD ["serve"]
