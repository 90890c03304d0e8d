#!/bin/sh
# make-deb.sh BUILD_DIR — build lazaret_VERSION_ARCH.deb with dpkg-buildpackage from debian/,
# in a copy of the tree under BUILD_DIR/deb/ (the files git tracks or would track, as they
# are in the worktree), so that nothing is written into the source tree. VERSION is meson's
# project version; debian/changelog is written into the copy with it. Prints the .deb's path.
set -eu

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -1)
[ -n "$version" ] || { echo "make-deb: no version in meson.build" >&2; exit 1; }
arch=$(dpkg --print-architecture)
out=$(mkdir -p "$build/deb" && cd "$build/deb" && pwd)
src=$out/lazaret-$version

rm -rf "$src" "$out"/lazaret_*
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$src"

when=$(git log -1 --format=%aD 2>/dev/null || date -R)
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
cat >"$src/debian/changelog" <<CHANGELOG
lazaret ($version) unstable; urgency=medium

  * lazaret $version, built by make deb from $rev.

 -- lazaret developers <lazaret@example.net>  $when
CHANGELOG

# two jobs unless told otherwise (DEB_BUILD_OPTIONS=parallel=N): dh builds with one by default
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}"
(cd "$src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
	tail -n 40 "$out/build.log" >&2
	echo "make-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
echo "$out/lazaret_${version}_$arch.deb"
