# Evently in a small image: the one `evently` binary (migrations and NATS definitions are
# embedded in it) and the built web app on a distroless base. rustls everywhere, so no OpenSSL in
# the image.
#   docker build -t evently .
#   docker run --rm -e DATABASE_URL=... -e NATS_URL=... -e EVENTLY_JWT_SECRET=... evently gateway
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin evently && cp target/release/evently /evently

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /evently /usr/local/bin/evently
COPY --from=web /web/dist /usr/share/evently/web
ENV EVENTLY_HTTP_ADDR=0.0.0.0:8080 EVENTLY_LOG_FORMAT=json EVENTLY_WEB_DIR=/usr/share/evently/web
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/evently"]
CMD ["gateway"]
