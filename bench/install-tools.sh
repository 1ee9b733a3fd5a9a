#!/usr/bin/env bash
# Installs what `make bench` drives credmock with: wrk (Debian package) as the load generator,
# Prism (npm, into bench/.tools/) as the reference mock when Node is present, and py-spy (PyPI,
# into the project's venv) for `bench/run.py --profile`.
# Each tool is optional: without wrk the bench falls back to its Python load driver, without
# Node it measures credmock alone. Safe to run again: installed tools are kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/.tools"
venv="${VENV:-$here/../.venv}"
prism_version="${PRISM_VERSION:-5}"

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

if command -v wrk >/dev/null; then
    echo "wrk: $(command -v wrk)"
elif command -v apt-get >/dev/null; then
    echo "wrk: installing the Debian package"
    if ! { sudo_if_needed apt-get install -y -qq wrk >/dev/null 2>&1 \
        || { sudo_if_needed apt-get update -qq && sudo_if_needed apt-get install -y -qq wrk >/dev/null; }; }; then
        echo "wrk: could not install it; the bench will use its Python load driver" >&2
    fi
else
    echo "wrk: no apt-get here; the bench will use its Python load driver" >&2
fi

prism_works() {
    [ -x "$tools/node_modules/.bin/prism" ] && "$tools/node_modules/.bin/prism" --version >/dev/null 2>&1
}

install_prism() {
    echo "prism: installing @stoplight/prism-cli@$prism_version into $tools"
    rm -rf "$tools/node_modules"
    mkdir -p "$tools"
    [ -f "$tools/package.json" ] || echo '{"private": true}' >"$tools/package.json"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "@stoplight/prism-cli@$prism_version" >/dev/null
}

if ! command -v npm >/dev/null; then
    echo "prism: Node/npm not found; the bench will measure credmock without Prism ratios" >&2
elif prism_works; then
    echo "prism: $tools/node_modules/.bin/prism"
else
    # A second try from a clean folder: an interrupted or half-extracted install was seen once
    # (a dependency without its build/ folder), and it does not repair itself.
    if ! { install_prism && prism_works; } && ! { install_prism && prism_works; }; then
        echo "prism: install failed; the bench will measure credmock without Prism ratios" >&2
    fi
fi

if [ -x "$venv/bin/py-spy" ]; then
    echo "py-spy: $venv/bin/py-spy"
elif [ -x "$venv/bin/pip" ]; then
    echo "py-spy: installing into $venv"
    "$venv/bin/pip" install --quiet py-spy || echo "py-spy: install failed; --profile will say so" >&2
fi
