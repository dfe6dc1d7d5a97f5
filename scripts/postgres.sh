#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and local work, in a directory of the project.
#
#   scripts/postgres.sh start [DIR]   install PostgreSQL if missing, create the cluster if missing, start it
#                                     if stopped; print the DATABASE_URL on stdout (idempotent)
#   scripts/postgres.sh url [DIR]     print the DATABASE_URL of the running cluster (--tcp: the loopback
#                                     TCP form with the role's password)
#   scripts/postgres.sh stop [DIR]    stop the cluster (--remove: delete DIR as well)
#
# DIR defaults to .run/pg/dev. The cluster listens on a unix socket inside DIR (trust authentication:
# the directory is 0700, so only its owner and root reach it) and on a free 127.0.0.1 port
# (password authentication). It is tuned for tests, not for keeping data: fsync, synchronous commit
# and full-page writes are off. PostgreSQL refuses to run as root, so under root the server runs as
# the `postgres` system user, which owns DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

ROLE=stellar
DBNAME=stellar

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  return 1
}

install_postgres() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and there is no apt-get to install it; set TEST_DATABASE_URL instead"
  echo "postgres.sh: installing PostgreSQL with apt-get" >&2
  # The Debian package starts its own cluster on systems with an init; ours is separate and needs none.
  timeout 600 $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo_cmd apt-get install -y -qq postgresql >&2
}

# Run a PostgreSQL program as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_owner() {
  [ "$(id -u)" -eq 0 ] || return 0
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
}

free_port() {
  "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port of a running cluster (4th line of postmaster.pid), or nothing.
running_port() {
  local dir=$1
  if as_owner "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    sed -n 4p "$dir/data/postmaster.pid"
  fi
}

psql_owner() {
  local dir=$1 port=$2; shift 2
  as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres "$@"
}

socket_url() { echo "postgres://$ROLE@/$DBNAME?host=$1&port=$2"; }

cmd_start() {
  local dir=$1 port
  BIN=$(pg_bindir) || { install_postgres; BIN=$(pg_bindir) || die "PostgreSQL binaries not found after installing"; }
  ensure_owner
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_owner test -w "$dir" || die "the postgres user cannot reach $dir (a parent directory is not searchable by others)"
  # Two starts at once (two test runs) must not both initdb or both pick a port.
  exec 9>"$dir.lock"
  timeout 120 flock 9 || die "timed out waiting for the lock on $dir"

  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    # Collation C: byte order, which for UTF-8 is code point order, the same order glibc's C.UTF-8
    # gives, but compared with memcmp instead of strcoll. Text indexes build about four times faster
    # (the alerts' ids at a million cases). Character classes and case mapping stay C.UTF-8.
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 --lc-collate=C \
      --auth-local=trust --auth-host=scram-sha-256 --no-instructions >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    cat >>"$dir/data/postgresql.conf" <<'EOF'

# --- scripts/postgres.sh: a disposable cluster for tests ---
listen_addresses = '127.0.0.1'
unix_socket_permissions = 0700
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 1GB
checkpoint_timeout = 30min
shared_buffers = 256MB
work_mem = 16MB
# The data sits in memory or on SSD, where a random page costs about what a sequential one does. At 4
# (the default, for spinning disks) a search for a common word counted its first 10,001 matches by reading
# the cases table from the start; at 1.1 through the trigram index, 1.5 times faster at a million cases.
random_page_cost = 1.1
maintenance_work_mem = 256MB
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
EOF
  fi

  port=$(running_port "$dir")
  if [ -z "$port" ]; then
    port=$(free_port)
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir" start >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; die "the server did not start"; }
  fi

  if [ "$(psql_owner "$dir" "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    local password
    password=$("${PYTHON:-python3}" -c 'import secrets; print(secrets.token_hex(16))')
    # CREATEDB for the test databases; not a superuser, like a production application role.
    psql_owner "$dir" "$port" -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$password'"
    (umask 077 && echo "$password" >"$dir/password")
  fi
  if [ "$(psql_owner "$dir" "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" != 1 ]; then
    psql_owner "$dir" "$port" -c "CREATE DATABASE $DBNAME OWNER $ROLE"
  fi
  flock -u 9
  socket_url "$dir" "$port"
}

cmd_url() {
  local dir=$1 tcp=$2 port
  BIN=$(pg_bindir) || die "PostgreSQL is not installed"
  port=$(running_port "$dir")
  [ -n "$port" ] || die "no cluster running in $dir (scripts/postgres.sh start)"
  if [ "$tcp" = 1 ]; then
    echo "postgres://$ROLE:$(cat "$dir/password")@127.0.0.1:$port/$DBNAME"
  else
    socket_url "$dir" "$port"
  fi
}

cmd_stop() {
  local dir=$1 remove=$2
  if [ -f "$dir/data/PG_VERSION" ] && BIN=$(pg_bindir); then
    if as_owner "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null \
        || as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null
    fi
  fi
  if [ "$remove" = 1 ]; then rm -rf "$dir" "$dir.lock"; fi
}

action=${1:-}
shift || true
dir=.run/pg/dev
tcp=0
remove=0
for arg in "$@"; do
  case $arg in
    --tcp) tcp=1 ;;
    --remove) remove=1 ;;
    -*) die "unknown option $arg" ;;
    *) dir=$arg ;;
  esac
done
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")

case $action in
  start) cmd_start "$dir" ;;
  url) cmd_url "$dir" "$tcp" ;;
  stop) cmd_stop "$dir" "$remove" ;;
  *) die "usage: scripts/postgres.sh start|url|stop [DIR] [--tcp] [--remove]" ;;
esac
