#!/usr/bin/env bash
# Installs the OpenAPI linters `make lint-spec` runs on the served specs: Spectral (its
# `spectral:oas` ruleset) and Redocly's CLI (its `recommended` rules), from npm, at the versions
# pinned here, into .lint-tools/ (untracked). Safe to run again: a working install is kept.
# Needs Node.js 20.19 or later (Redocly's CLI); without npm it installs Debian's nodejs and npm.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${LINT_TOOLS:-$root/.lint-tools}"
spectral_version="6.16.3"
redocly_version="2.77.0"

tools_work() {
    [ -x "$tools/node_modules/.bin/spectral" ] && [ -x "$tools/node_modules/.bin/redocly" ] \
        && [ "$("$tools/node_modules/.bin/spectral" --version 2>/dev/null)" = "$spectral_version" ] \
        && "$tools/node_modules/.bin/redocly" --version 2>/dev/null | grep -qx "$redocly_version"
}

if ! command -v npm >/dev/null; then
    echo "install-lint: npm not found: installing Debian's nodejs and npm"
    "$root/scripts/apt-install.sh" nodejs npm
fi
if tools_work; then
    echo "install-lint: spectral $spectral_version, redocly $redocly_version in $tools"
    exit 0
fi
rm -rf "$tools/node_modules" "$tools/package.json" "$tools/package-lock.json"
mkdir -p "$tools"
echo '{"private": true}' >"$tools/package.json"
npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    "@stoplight/spectral-cli@$spectral_version" "@redocly/cli@$redocly_version" >/dev/null
tools_work || { echo "install-lint: the linters do not run after install" >&2; exit 1; }
echo "install-lint: spectral $spectral_version, redocly $redocly_version in $tools"
