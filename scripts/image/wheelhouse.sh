#!/usr/bin/env bash
# Fill a wheelhouse (default build/wheelhouse/) with credmock's wheel and the wheels of its runtime
# dependencies, at the versions of the lock file when there is one, so that the image build installs
# from this folder alone: no package index, no certificates inside the build.
#
# The wheels must suit the image's Python (Debian's python3 of the Dockerfile's release), and the
# dependencies are resolved as that Python evaluates their markers (some depend on the patch
# release: redis needs async-timeout before 3.11.3). So this runs with $PYTHON, else Debian's own
# /usr/bin/python3 when it has pip (the image's very interpreter on a bookworm host), else python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

wheelhouse=${1:-build/wheelhouse}
if [ -n "${PYTHON:-}" ]; then
    python=$PYTHON
elif /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    python=/usr/bin/python3
else
    python=python3
fi
image_python=${IMAGE_PYTHON_VERSION:-3.11}  # Debian bookworm's python3

host_python=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$host_python" != "$image_python" ]; then
    echo "image/wheelhouse: $python is Python $host_python; the image runs Python $image_python." >&2
    echo "  Run with PYTHON=python$image_python (wheels with compiled parts must match it)." >&2
    exit 2
fi

lock=${CREDMOCK_LOCK:-}
if [ -z "$lock" ]; then
    for candidate in requirements/run.txt requirements.txt; do
        if [ -f "$candidate" ]; then lock=$candidate; break; fi
    done
fi

pip_wheel() {  # quiet, less the notes on this host's local index folders that do not exist
    "$python" -m pip wheel --quiet --wheel-dir "$wheelhouse" "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}

# credmock's own wheel the same bytes for the same sources, so the image build's cache holds.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
export SOURCE_DATE_EPOCH

rm -rf "$wheelhouse"
mkdir -p "$wheelhouse"
if [ -n "$lock" ]; then
    pip_wheel --constraint "$lock" .
    from="$lock"
else
    pip_wheel .
    from="pyproject.toml (no lock file)"
fi
echo "image/wheelhouse: $(ls "$wheelhouse" | wc -l) wheels in $wheelhouse from $from (Python $("$python" -c 'import platform; print(platform.python_version())'))"
