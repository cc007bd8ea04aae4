#!/usr/bin/env bash
# Prints the path of a Go toolchain: $GO if set, else `go` on PATH, else the places Go's
# installers put it, which are often not on a shell's PATH (the official tarball's
# /usr/local/go/bin, Debian's golang-go, `go install golang.org/dl/goX` under ~/sdk).
# GO_LOCATIONS (space-separated paths of go binaries) replaces that list.
set -uo pipefail
if [ -n "${GO:-}" ]; then
  if [ -x "$GO" ] || command -v "$GO" >/dev/null 2>&1; then command -v "$GO"; exit 0; fi
  echo "GO=$GO is not an executable" >&2
  exit 1
fi
if command -v go >/dev/null 2>&1; then command -v go; exit 0; fi
locations="${GO_LOCATIONS-/usr/local/go/bin/go /usr/lib/go/bin/go ${HOME:-/root}/go/bin/go $(ls -d "${HOME:-/root}"/sdk/go*/bin/go 2>/dev/null | sort -rV | tr '\n' ' ')}"
for candidate in $locations; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "Go was not found on PATH nor in: ${locations:-(no locations)}" >&2
exit 1
