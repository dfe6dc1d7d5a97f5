#!/usr/bin/env bash
# A local cluster, laid out like a production deployment: PostgreSQL, Redis (the shared cache), two
# gunicorn instances of this application on their own ports, and nginx in front on one loopback port.
# Everything comes from the system package manager and lives, throwaway, under DIR (default .run/cluster).
#
#   scripts/cluster.sh start [DIR] [--no-seed]   start it (installing what is missing), migrate, seed a
#                                                small demo data set; print nginx's base URL on the last line
#   scripts/cluster.sh stop [DIR]                stop everything and delete DIR
#   scripts/cluster.sh restart-instance N [DIR]  start instance N (1 or 2) again, e.g. after a test killed it
#
# `start` writes DIR/cluster.env: the settings every instance runs with (source it to run manage.py against
# the cluster), and the ports and pid files of each part. Extra settings for the instances can be passed
# in the environment as CLUSTER_EXTRA_ENV="NAME=value NAME=value".
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
shift || true
dir=.run/cluster
seed=1
instance=""
if [ "$command" = "restart-instance" ]; then instance=${1:?instance number}; shift; fi
for arg in "$@"; do
  case $arg in
    --no-seed) seed=0 ;;
    *) dir=$arg ;;
  esac
done
mkdir -p "$(dirname "$dir")"
dir=$(realpath -m "$dir")
env_file=$dir/cluster.env

die() { echo "cluster.sh: $*" >&2; exit 1; }
free_port() { .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

install_missing() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  [ ${#missing[@]} -eq 0 ] && return
  local sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "cluster.sh: installing ${missing[*]} with apt-get" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

start_instance() {
  local n=$1 port_var="INSTANCE_${1}_PORT"
  # shellcheck disable=SC1090
  set -a; . "$env_file"; set +a
  PORT=${!port_var} HOST=127.0.0.1 WEB_CONCURRENCY=2 .venv/bin/gunicorn -c stellar_mcp_site/gunicorn.conf.py \
    stellar_mcp_site.wsgi --daemon --pid "$dir/gunicorn-$n.pid" --error-logfile "$dir/gunicorn-$n.log"
  for _ in $(seq 1 100); do
    .venv/bin/python -c "import socket,sys; socket.create_connection(('127.0.0.1', ${!port_var}), 0.2)" 2>/dev/null && return
    sleep 0.1
  done
  die "instance $n did not start: see $dir/gunicorn-$n.log"
}

stop_pidfile() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}

case $command in
  start)
    [ -f "$env_file" ] && die "a cluster is already running in $dir (scripts/cluster.sh stop $dir)"
    install_missing
    mkdir -p "$dir"
    database_url=$(PYTHON=.venv/bin/python scripts/postgres.sh start "$dir/pg")
    redis_port=$(free_port); nginx_port=$(free_port); port_1=$(free_port); port_2=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))')
    pepper=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
    admin_password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
    cat > "$env_file" <<EOF
# Written by scripts/cluster.sh start: what every instance of this cluster runs with (quoted: a
# PostgreSQL URL holds characters the shell would read, such as &).
DATABASE_URL='$database_url'
CACHE_URL='redis://127.0.0.1:$redis_port/0'
DJANGO_SECRET_KEY='$secret'
API_KEY_PEPPER='$pepper'
MCP_PUBLIC_URL='http://127.0.0.1:$nginx_port'
ALLOWED_HOSTS='127.0.0.1,localhost'
TRUSTED_PROXY_HOPS='1'
DEMO_ADMIN_PASSWORD='$admin_password'
REDIS_PORT='$redis_port'
NGINX_PORT='$nginx_port'
INSTANCE_1_PORT='$port_1'
INSTANCE_2_PORT='$port_2'
CLUSTER_DIR='$dir'
EOF
    for setting in ${CLUSTER_EXTRA_ENV:-}; do echo "${setting%%=*}='${setting#*=}'" >> "$env_file"; done
    (set -a; . "$env_file"; set +a; .venv/bin/python manage.py migrate --noinput -v0)
    if [ $seed -eq 1 ]; then
      (set -a; . "$env_file"; set +a; .venv/bin/python manage.py seed_demo --tenants 3 --cases 200 --days 7 -v0 >/dev/null)
    fi
    start_instance 1
    start_instance 2
    cat > "$dir/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $dir/nginx-body;
  proxy_temp_path $dir/nginx-proxy;
  fastcgi_temp_path $dir/nginx-fastcgi;
  uwsgi_temp_path $dir/nginx-uwsgi;
  scgi_temp_path $dir/nginx-scgi;
  client_max_body_size 2m;
  upstream app {
    server 127.0.0.1:$port_1 max_fails=1 fail_timeout=5s;
    server 127.0.0.1:$port_2 max_fails=1 fail_timeout=5s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      # An instance that refuses the connection is skipped; a request it may have started is not resent.
      proxy_next_upstream error;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
    }
  }
}
EOF
    "$(nginx_bin)" -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log"
    echo "http://127.0.0.1:$nginx_port"
    ;;
  restart-instance)
    [ -f "$env_file" ] || die "no cluster in $dir"
    stop_pidfile "$dir/gunicorn-$instance.pid"
    start_instance "$instance"
    ;;
  stop)
    if [ -f "$dir/nginx.pid" ]; then "$(nginx_bin)" -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log" -s stop 2>/dev/null || true; fi
    stop_pidfile "$dir/gunicorn-1.pid"
    stop_pidfile "$dir/gunicorn-2.pid"
    stop_pidfile "$dir/redis.pid"
    [ -d "$dir/pg" ] && scripts/postgres.sh stop "$dir/pg" --remove || true
    rm -rf "$dir"
    ;;
  *)
    die "usage: scripts/cluster.sh start|stop [DIR] [--no-seed] | restart-instance N [DIR]"
    ;;
esac
