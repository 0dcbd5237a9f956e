#!/bin/sh
# Prints imwire's version: the VERSION file of a release tarball when
# there is one; else `git describe` of a v* tag; else the newest version
# in CHANGELOG.md with the commit ("0.1.0+git.42.ce9c55f", ".dirty" when
# the work tree has changes). Used by the Makefile and debian/rules.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$TOP/VERSION" ]; then
	head -n1 "$TOP/VERSION"
	exit 0
fi
base=$(sed -n 's/^## \([0-9][0-9.]*\).*/\1/p' "$TOP/CHANGELOG.md" 2>/dev/null | head -n1)
base=${base:-0.0.0}
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	if v=$(git -C "$TOP" describe --tags --match 'v[0-9]*' --dirty=.dirty 2>/dev/null); then
		echo "${v#v}" | sed 's/-\([0-9]*\)-g/+git.\1./'
		exit 0
	fi
	n=$(git -C "$TOP" rev-list --count HEAD 2>/dev/null || echo 0)
	h=$(git -C "$TOP" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
	d=""
	git -C "$TOP" diff --quiet HEAD -- 2>/dev/null || d=.dirty
	echo "$base+git.$n.$h$d"
	exit 0
fi
echo "$base"
