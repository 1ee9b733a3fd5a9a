#!/usr/bin/env bash
# Make the Dockerfile's base image, docker.io/library/debian:<release>-slim, from Debian's own
# packages when no image registry is reachable: debootstrap a minimal system from the Debian mirror
# apt uses on this host, trim it like the official slim image, and `podman import` it under the
# official name so that `podman build --pull=never` takes it. A no-op when the image already exists
# (pulled from a registry or made by an earlier run). Needs root (debootstrap, rootful podman).
#
#   scripts/image/base-image.sh            # release from the Dockerfile's FROM line
#   DEBIAN_RELEASE=bookworm scripts/image/base-image.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

release=${DEBIAN_RELEASE:-$(sed -n 's/^FROM debian:\([a-z]*\)-slim.*/\1/p' Dockerfile | head -n 1)}
if [ -z "$release" ]; then
    echo "image/base-image: no 'FROM debian:<release>-slim' line in Dockerfile" >&2
    exit 1
fi
image="docker.io/library/debian:${release}-slim"
if podman image exists "$image"; then
    echo "image/base-image: $image already present"
    exit 0
fi

# The mirror apt uses here (deb822 sources or a classic sources.list), else Debian's own.
mirror=${DEBIAN_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE '(URIs:|^deb) +https?://[^ ]*/debian/?( |$)' | grep -oE 'https?://[^ ]*' | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

root=$(mktemp -d "${TMPDIR:-/tmp}/credmock-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "image/base-image: debootstrap --variant=minbase $release from $mirror (a few minutes)"
debootstrap --variant=minbase "$release" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 30 "$root.log" >&2
    rm -f "$root.log"
    exit 1
}
rm -f "$root.log"

# Like the official slim image: deb822 sources for the release, its updates and security
# suites; no package lists, caches or docs.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
    "$root"/dev/* "$root"/proc/* "$root"/sys/*

tar --numeric-owner -C "$root" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $release $mirror" \
    - "$image" >/dev/null
echo "image/base-image: imported $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
