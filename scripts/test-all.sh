#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it all.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs a Debian package the suite needs (as root, with apt), or stops naming it.
#   need_package PACKAGE WHAT-IT-IS-FOR [apt-get options]
need_package() {
  local package="$1" why="$2"
  shift 2
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's ${package} (${why})"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" "${package}" >/dev/null
  else
    echo "${package} is required (${why}): sudo apt-get install ${package}" >&2
    exit 1
  fi
}

command -v docker-compose >/dev/null 2>&1 || need_package docker-compose "validates docker-compose.yml"
# The shell's terminal test drives it through a pseudo-terminal with util-linux `script`.
command -v script >/dev/null 2>&1 || need_package bsdutils "script, for the shell's terminal test"
# The TLS tests and `quorumlite certs` make their certificates with Debian's openssl.
command -v openssl >/dev/null 2>&1 || need_package openssl "certificates for the TLS tests"
# The browser tests (the comparison report, the live dashboard) use Debian's chromium, driven by
# playwright-core; QL_CHROMIUM may name another Chromium binary instead.
if [ -z "${QL_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  need_package chromium "the headless-browser tests in test/browser; or set QL_CHROMIUM to a Chromium binary" --no-install-recommends
fi
# `bench --reference` measures ZooKeeper and etcd beside quorumlite; its load test starts both.
[ -d /usr/share/zookeeper ] || need_package zookeeper "the peers measured by bench --reference" --no-install-recommends
[ -x /usr/bin/etcd ] || need_package etcd-server "the peers measured by bench --reference" --no-install-recommends

npm ci --no-audit --no-fund
# npm test alone falls back to a built-in check of docker-compose.yml; here the real one must run.
QL_COMPOSE_CHECK=docker-compose npm test
