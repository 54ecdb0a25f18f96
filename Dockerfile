# syntax=docker/dockerfile:1
# Lattice's images, from one multi-stage build (unverified here: no Docker engine runs in this environment; see
# docs/install.md#images):
#   docker build --target controller -t ghcr.io/lattice-mesh/lattice-controller:0.4.0 .
#   docker build --target proxy      -t ghcr.io/lattice-mesh/lattice-proxy:0.4.0 .
# The proxy image carries lattice-proxy (the sidecar, UID 2102) and lattice-init (the init container, which needs
# iptables and runs with NET_ADMIN/NET_RAW); the injector uses it for both (proxy.image and proxy.initImage).

ARG SWIFT_IMAGE=swift:6.1-bookworm

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# Dependencies first, so source changes reuse the resolved and fetched packages.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Protos ./Protos
# The release flags are scripts/build-release's (it says why run-time exclusivity checks are off).
ARG RELEASE_FLAGS="-c release --static-swift-stdlib -Xswiftc -enforce-exclusivity=unchecked"
RUN swift build ${RELEASE_FLAGS} --product lattice-controller \
 && swift build ${RELEASE_FLAGS} --product lattice-proxy \
 && swift build ${RELEASE_FLAGS} --product lattice-init \
 && swift build ${RELEASE_FLAGS} --product lattice \
 && mkdir /out \
 && for exe in lattice-controller lattice-proxy lattice-init lattice; do \
      cp "$(swift build ${RELEASE_FLAGS} --show-bin-path)/$exe" /out/ && strip /out/$exe; \
    done

# The controller: glibc and libstdc++ only (the Swift runtime and Foundation are linked in), non-root.
FROM gcr.io/distroless/cc-debian12:nonroot AS controller
COPY --from=build /out/lattice-controller /usr/local/bin/lattice-controller
# The chart runs it as 2103 (runAsUser); the image's own default is non-root too.
USER 2103:2103
EXPOSE 8080 8443 9990
ENTRYPOINT ["/usr/local/bin/lattice-controller"]

# The proxy and lattice-init: iptables (nft and legacy back ends) for lattice-init, nothing else.
FROM debian:bookworm-slim AS proxy
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/lattice-proxy /usr/local/bin/lattice-proxy
COPY --from=build /out/lattice-init /usr/local/bin/lattice-init
# The proxy's UID: lattice-init exempts it from redirection (MeshConfig proxy.uid, values proxy.uid).
USER 2102:2102
EXPOSE 4140 4143 4191
ENTRYPOINT ["/usr/local/bin/lattice-proxy"]

# The CLI, for CI jobs that run `lattice install | kubectl apply -f -` or `lattice check`.
FROM gcr.io/distroless/cc-debian12:nonroot AS cli
COPY --from=build /out/lattice /usr/local/bin/lattice
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/lattice"]
