#!/usr/bin/env bash
# Installs what `make bench` drives credmock with: wrk (Debian package) as the load generator,
# Prism and WireMock (npm, into bench/.tools/; the `wiremock` package ships WireMock's standalone
# jar) as the mocks it is compared with, Java (Debian's openjdk-17-jre-headless) to run WireMock,
# and py-spy (PyPI, into the project's venv) for `bench/run.py --profile`.
# Each tool is optional: without wrk the bench falls back to its Python load driver, without
# Node or Java it leaves out the columns of Prism or WireMock. Safe to run again: installed
# tools are kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/.tools"
venv="${VENV:-$here/../.venv}"
prism_version="${PRISM_VERSION:-5}"
wiremock_version="${WIREMOCK_VERSION:-3}"

apt_install="$here/../scripts/apt-install.sh"  # waits on the apt lock, root or sudo

if command -v wrk >/dev/null; then
    echo "wrk: $(command -v wrk)"
elif command -v apt-get >/dev/null; then
    echo "wrk: installing the Debian package"
    "$apt_install" wrk || echo "wrk: could not install it; the bench will use its Python load driver" >&2
else
    echo "wrk: no apt-get here; the bench will use its Python load driver" >&2
fi

if command -v java >/dev/null; then
    echo "java: $(command -v java)"
elif command -v apt-get >/dev/null; then
    echo "java: installing openjdk-17-jre-headless (to run WireMock)"
    "$apt_install" openjdk-17-jre-headless || echo "java: could not install it; no WireMock column" >&2
else
    echo "java: not found and no apt-get here; no WireMock column" >&2
fi

node_tools_work() {
    [ -x "$tools/node_modules/.bin/prism" ] && "$tools/node_modules/.bin/prism" --version >/dev/null 2>&1 \
        && compgen -G "$tools/node_modules/wiremock/**/wiremock-standalone-*.jar" >/dev/null
}

install_node_tools() {
    echo "prism, wiremock: installing @stoplight/prism-cli@$prism_version wiremock@$wiremock_version into $tools"
    rm -rf "$tools/node_modules" "$tools/package.json" "$tools/package-lock.json"
    mkdir -p "$tools"
    echo '{"private": true}' >"$tools/package.json"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "@stoplight/prism-cli@$prism_version" "wiremock@$wiremock_version" >/dev/null
}

shopt -s globstar
if ! command -v npm >/dev/null; then
    echo "prism, wiremock: Node/npm not found; the bench leaves out their columns" >&2
elif node_tools_work; then
    echo "prism, wiremock: $tools/node_modules"
else
    # A second try from a clean folder: an interrupted or half-extracted install was seen once
    # (a dependency without its build/ folder), and it does not repair itself.
    if ! { install_node_tools && node_tools_work; } && ! { install_node_tools && node_tools_work; }; then
        echo "prism, wiremock: install failed; the bench leaves out what is missing" >&2
    fi
fi

if [ -x "$venv/bin/py-spy" ]; then
    echo "py-spy: $venv/bin/py-spy"
elif [ -x "$venv/bin/pip" ]; then
    echo "py-spy: installing into $venv"
    "$venv/bin/pip" install --quiet py-spy || echo "py-spy: install failed; --profile will say so" >&2
fi
