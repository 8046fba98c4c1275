#!/bin/sh
# The image's entrypoint. Docker and Compose secrets are files
# (/run/secrets/NAME): for each secret mailslot (or node-pg: PGPASSWORD) reads
# from its environment, NAME_FILE names such a file and NAME is set from it
# (one trailing newline dropped). Then the command runs in this process's place.
set -e
for name in DATABASE_URL PGPASSWORD MAILSLOT_ADMIN_TOKEN MAILSLOT_ENCRYPTION_KEY; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  eval "value=\${${name}:-}"
  if [ -n "$value" ]; then
    echo "mailslot: configuration error: ${name} and ${name}_FILE are both set: keep one" >&2
    exit 2
  fi
  if ! [ -r "$file" ]; then
    echo "mailslot: configuration error: ${name}_FILE: cannot read $file" >&2
    exit 2
  fi
  export "$name=$(cat "$file")"
  unset "${name}_FILE"
done
exec "$@"
