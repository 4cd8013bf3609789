# syntax=docker/dockerfile:1
# adgate as a container image: a static binary on a distroless base (CA
# certificates for HTTPS delivery, no shell), run as a non-root user.
#
#   docker build -t adgate .
#   docker run --rm -v "$PWD/partners:/work/partners:ro" adgate validate partners/
#   docker run --rm -p 8080:8080 -v "$PWD:/work" adgate serve --config gateway.yaml --listen 0.0.0.0:8080
#
# .ci/docker-build builds it and runs it (it skips, saying so, where no
# Docker engine is reachable).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary, which the distroless static base needs.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/adgate ./cmd/adgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/adgate /usr/local/bin/adgate
# Specs, config and the queue's data_dir are mounted here; the nonroot
# user (65532) must be able to write the data directory.
WORKDIR /work
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/adgate"]
CMD ["help"]
