# The iamwarden container image: the static musl binary the release workflow built
# (.github/workflows/release.yml), on an empty base. Nothing else is inside: no shell, no
# package manager; the CA bundle is the one the build host trusts (the SDK's TLS reads it from
# /etc/ssl/certs). It runs as an unprivileged user (65532, distroless's "nonroot").
#
# Build context (as the release workflow lays it out):
#   dist/linux/amd64/iamwarden, dist/linux/arm64/iamwarden   the binaries per platform
#   dist/ca-certificates.crt                                 the CA bundle
# (file modes as laid there: the binaries 0755). Built by the release workflow with
#   docker buildx build --platform linux/amd64,linux/arm64 .
# Run: docker run --rm -v "$PWD:/work" -w /work ghcr.io/OWNER/iamwarden:VERSION plan ...
FROM scratch
ARG TARGETPLATFORM
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/${TARGETPLATFORM}/iamwarden /usr/local/bin/iamwarden
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/iamwarden"]
CMD ["--help"]
