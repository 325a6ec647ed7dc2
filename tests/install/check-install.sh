#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a consumer project with
# find_package(ctorch) (shared and static) and with pkg-config. Usage: check-install.sh <build dir>
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$here" -B "$tmp/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/cmake/consumer"
"$tmp/cmake/consumer_static"
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n1)
export PKG_CONFIG_PATH="$libdir"
cc -std=c11 "$here/consumer.c" -o "$tmp/consumer_pc" $(pkg-config --cflags --libs ctorch)
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer_pc"
cc -std=c11 "$here/consumer.c" -o "$tmp/consumer_pc_static" $(pkg-config --static --cflags ctorch) \
  "$(dirname "$libdir")/libctorch.a" $(pkg-config --static --libs-only-l --libs-only-L ctorch | sed 's/-lctorch//')
"$tmp/consumer_pc_static"
echo "install check: find_package and pkg-config consumers built and ran"
