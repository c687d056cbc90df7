#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it all.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's docker-compose (validates docker-compose.yml)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "docker-compose is required to validate docker-compose.yml: sudo apt-get install docker-compose" >&2
    exit 1
  fi
fi

# The shell's terminal test drives it through a pseudo-terminal with util-linux `script`.
if ! command -v script >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's bsdutils (script, for the shell's terminal test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bsdutils >/dev/null
  else
    echo "script (util-linux) is required for the shell's terminal test: sudo apt-get install bsdutils" >&2
    exit 1
  fi
fi

# The TLS tests and `quorumlite certs` make their certificates with Debian's openssl.
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's openssl (certificates for the TLS tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    echo "openssl is required for the TLS tests and quorumlite certs: sudo apt-get install openssl" >&2
    exit 1
  fi
fi

# The browser tests (the comparison report, the live dashboard) use Debian's chromium, driven by playwright-core.
if [ -z "${QL_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium (the headless-browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "chromium is required for the browser tests (test/browser): sudo apt-get install chromium (or set QL_CHROMIUM to a Chromium binary)" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund
# npm test alone falls back to a built-in check of docker-compose.yml; here the real one must run.
QL_COMPOSE_CHECK=docker-compose npm test
