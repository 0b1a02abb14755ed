# The privateguard image: a static binary on distroless, running as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t privateguard:dev .
#
# `make image` builds the same image without Docker (hack/image); the test of
# internal/imageconfig keeps this file's user, entrypoint and command in step with it.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
# Dependencies first, so the module download is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/privateguard ./cmd/webhook

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/privateguard /privateguard
# 65532 is distroless's nonroot user; the chart runs the pod as the same user.
USER 65532:65532
ENTRYPOINT ["/privateguard"]
CMD ["serve"]
