#!/usr/bin/env bash
# Fetches libvirt0 (the client library, with libvirt's test driver inside) from bookworm-backports and
# unpacks it into a cache, so the unit tests can run on a newer libvirt without switching the machine:
#   LD_LIBRARY_PATH=$(hack/backports-libvirt.sh) pytest tests/unit
# libvirt-python loads whichever libvirt.so.0 the dynamic linker finds, and a newer one keeps the ABI.
# Nothing is installed and the machine's apt sources stay as they are: apt runs on a sources list and
# package lists of its own under the cache, with the URI of the machine's own Debian entry.
# Idempotent: a complete cache is reused without the network. Prints the library directory on stdout.
# Exit 2 (with the reason on stderr) when the package cannot be fetched: the caller decides what a
# missing second libvirt means (hack/units.sh).
set -euo pipefail

CACHE=${NESTEDKVM_LIBVIRT_CACHE:-/var/cache/nestedkvm/libvirt-backports}
SUITE=${NESTEDKVM_LIBVIRT_SUITE:-bookworm-backports}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
libdir="$CACHE/root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"

unavailable() {
  echo "backports-libvirt: libvirt0 from $SUITE is not available: $*" >&2
  exit 2
}

if [ -s "$CACHE/version" ] && [ -e "$libdir/libvirt.so.0" ]; then
  echo "$libdir"
  exit 0
fi

command -v apt-get >/dev/null || unavailable "no apt-get on this machine"
[ -r "$KEYRING" ] || unavailable "no Debian archive keyring at $KEYRING"
# The URI of the machine's own Debian main suite (e.g. bookworm), from apt's downloaded index targets.
codename=${SUITE%%-*}
uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
        | awk -v s="$codename" '$1 == s {print $2; exit}')
[ -n "$uri" ] || unavailable "apt knows no '$codename' entry to take the URI from (run apt-get update)"

mkdir -p "$CACHE" 2>/dev/null || unavailable "cannot create $CACHE (run as root, or set NESTEDKVM_LIBVIRT_CACHE)"
# One fetch at a time (two CI runs on one machine); the second then finds the cache complete.
exec 9>"$CACHE/.lock"
flock 9
if [ -s "$CACHE/version" ] && [ -e "$libdir/libvirt.so.0" ]; then
  echo "$libdir"
  exit 0
fi
work=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=$KEYRING] $uri $SUITE main" > "$work/sources.list"
apt_options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1
             -o APT::Sandbox::User=root -q)

apt-get "${apt_options[@]}" update >"$work/update.log" 2>&1 \
  || unavailable "apt-get update of $uri $SUITE failed: $(grep -E '^(E|W):' "$work/update.log" | head -3 | tr '\n' ' ')"
version=$(apt-cache "${apt_options[@]}" show libvirt0 2>/dev/null | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || unavailable "$uri $SUITE has no libvirt0 package"
(cd "$work/debs" && apt-get "${apt_options[@]}" download "libvirt0=$version") >"$work/download.log" 2>&1 \
  || unavailable "downloading libvirt0 $version failed: $(tail -2 "$work/download.log" | tr '\n' ' ')"

# Libraries the newer libvirt0 links against that this machine lacks (libvirt 11 uses json-c where 9.0
# used yajl): fetched from the machine's own suites, which carry them all for a backport.
missing=()
for dep in $(apt-cache "${apt_options[@]}" show "libvirt0=$version" | awk -F': ' '/^Depends:/ {print $2; exit}' \
               | tr ',' '\n' | sed -E 's/^ *//; s/[ (|].*//'); do
  [ "$dep" = libvirt-common ] && continue  # configuration and data files; the machine's own serve
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || missing+=("$dep")
done
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$work/debs" && apt-get -q download "${missing[@]}") >>"$work/download.log" 2>&1 \
    || unavailable "downloading ${missing[*]} failed: $(tail -2 "$work/download.log" | tr '\n' ' ')"
fi

for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
work_libdir="$work/root/${libdir#"$CACHE"/root/}"
if LD_LIBRARY_PATH="$work_libdir" ldd "$work_libdir/libvirt.so.0" | grep -q 'not found'; then
  unavailable "libvirt.so.0 $version still lacks: $(LD_LIBRARY_PATH="$work_libdir" ldd "$work_libdir/libvirt.so.0" \
                                                      | awk '/not found/ {print $1}' | tr '\n' ' ')"
fi
# Replace a partial cache at once, so a concurrent or killed run never leaves a half-unpacked one behind.
rm -rf "$CACHE/root.old"
[ -e "$CACHE/root" ] && mv "$CACHE/root" "$CACHE/root.old"
mv "$work/root" "$CACHE/root"
rm -rf "$CACHE/root.old"
echo "$version" > "$CACHE/version"
echo "$libdir"
