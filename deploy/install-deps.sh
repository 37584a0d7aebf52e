#!/usr/bin/env bash
# Installs every system package stockfeed needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
  # gRPC / protobuf
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # Beast, Asio, JSON
  libboost1.81-dev libboost-json1.81-dev
  # PostgreSQL client library and server (the server is used by tests and the postgres demo)
  libpqxx-dev postgresql-15
  # logic libraries
  libabsl-dev libspdlog-dev libfmt-dev
  # security: JWT (libjwt), TLS and key types (OpenSSL); the openssl CLI makes test keys and certificates
  libjwt-dev libssl-dev openssl
  # the gateway's batched fan-out writes (io_uring)
  liburing-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the reliability suite: libFuzzer targets are built with Debian's clang (libFuzzer is in libclang-rt)
  clang libclang-rt-14-dev
  # browser tests and peer servers for the benchmarks
  chromium python3-websockets python3-grpcio python3-protobuf
  # process tools used by the scripts
  procps util-linux curl
  # deploy checks: systemd-analyze verify/security on the units, manifests read with PyYAML
  systemd python3-yaml
  # the metrics test scrapes both processes with a real Prometheus
  prometheus
  # the load balancer of the multi-node cluster test (and of deploy/haproxy)
  haproxy
  # a name resolving to several replicas, from a test's own hosts file (upstream failover test)
  libnss-wrapper
  # time zones for price_service --session_start
  tzdata
)

# Node.js may come from another repository (e.g. NodeSource); only pull Debian's when there is none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
