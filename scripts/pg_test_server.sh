#!/usr/bin/env bash
# A throwaway PostgreSQL server for the scale-out tests, on 127.0.0.1 only (never the system cluster).
#
#   scripts/pg_test_server.sh start DIR [PORT]   # initdb in DIR, start, create role+db; prints the URL
#   scripts/pg_test_server.sh stop DIR           # fast shutdown (the data in DIR is throwaway)
#
# Needs the Debian package `postgresql` (any major version). Run as root, the server runs as the `postgres`
# user; run as anyone else, it runs as that user. Password auth (scram-sha-256) on 127.0.0.1, so the URL
# carries a password: postgresql://nasgen:nasgen@127.0.0.1:PORT/nasgen_test
set -euo pipefail

cmd=${1:?usage: $0 start|stop DIR [PORT]}
dir=${2:?usage: $0 start|stop DIR [PORT]}
port=${3:-55432}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "pg_test_server: no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 3
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "printf nasgen > '$dir/pw' && '$pgbin/initdb' -D '$dir/data' -U nasgen --pwfile='$dir/pw' \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 >'$dir/initdb.log' 2>&1"
    as_owner "'$pgbin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 start \
      -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c max_connections=200\" >/dev/null"
    as_owner "PGPASSWORD=nasgen '$pgbin/psql' -h 127.0.0.1 -p $port -U nasgen -d postgres -q \
      -c 'CREATE DATABASE nasgen_test'"
    echo "postgresql://nasgen:nasgen@127.0.0.1:$port/nasgen_test"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "'$pgbin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
