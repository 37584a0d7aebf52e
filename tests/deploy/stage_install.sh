#!/usr/bin/env bash
# Installs the build into a fresh staging prefix, as deploy/docker/Dockerfile's
# build stage does: the deploy tests check and run what lands there.
# Usage: stage_install.sh CMAKE BUILD_DIR PREFIX
set -euo pipefail
cmake=$1 build_dir=$2 prefix=$3
rm -rf "$prefix"
"$cmake" --install "$build_dir" --prefix "$prefix"
