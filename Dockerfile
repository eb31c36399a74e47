# Evently in a small image: the one `evently` binary (migrations and NATS definitions are
# embedded in it) on a distroless base. rustls everywhere, so no OpenSSL in the image.
#   docker build -t evently .
#   docker run --rm -e DATABASE_URL=... -e NATS_URL=... -e EVENTLY_JWT_SECRET=... evently gateway
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin evently && cp target/release/evently /evently

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /evently /usr/local/bin/evently
ENV EVENTLY_HTTP_ADDR=0.0.0.0:8080 EVENTLY_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/evently"]
CMD ["gateway"]
