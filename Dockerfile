# Builds the `carta` binary and runs it on a slim image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin carta

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system carta
COPY --from=build /src/target/release/carta /usr/local/bin/carta
USER carta
ENV CARTA_BIND=0.0.0.0:8080 CARTA_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["carta"]
CMD ["serve", "--seed-if-empty"]
