# The 3scale simulator (threescale-sim) as a container image, for docker-compose.yaml.
# Built from the repository root (the compose file sets the context):
#   docker build -f examples/compose/sim.Dockerfile -t threescale-wasm-auth/threescale-sim:dev .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p threescale-sim

FROM debian:bookworm-slim
COPY --from=build /src/target/release/threescale-sim /usr/local/bin/threescale-sim
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/threescale-sim"]
