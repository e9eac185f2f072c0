#!/usr/bin/env bash
# Compares two builds with `hirebridge bench` on this shared, noisy machine the
# way the README's numbers were taken: alternated runs (A then B, then B then A,
# ...), a fresh database per run on one throwaway PostgreSQL cluster of their own
# (with pg_stat_statements), and medians.
#
#   scripts/bench-ab.sh BIN_A BIN_B PAIRS BENCH_ARGS...
#   scripts/bench-ab.sh /tmp/hb-before target/release/hirebridge 5 ingest
#   scripts/bench-ab.sh /tmp/hb-before target/release/hirebridge 3 sync --records 100000
#
# Copy the "before" binary out of target/ first: a build replaces it. Each run's
# own lines are printed as they come; the last lines are the medians of the
# figure the bench ranks by (records/s for sync, processed/s for ingest, the
# last column of its first result row). PG_BIN overrides where initdb is.
set -euo pipefail

if [ $# -lt 4 ]; then
  sed -n '2,15p' "$0"
  exit 2
fi
a=$(realpath "$1")
b=$(realpath "$2")
pairs=$3
shift 3

pg_bin=${PG_BIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")}
[ -x "$pg_bin/initdb" ] || { echo "initdb not found; set PG_BIN" >&2; exit 2; }
dir=$(mktemp -d /tmp/bench-ab.XXXXXX)  # the cluster's, its server user's
work=$(mktemp -d /tmp/bench-ab-runs.XXXXXX)  # the runs' data dirs and figures, ours
chmod 755 "$dir"
port=$((20000 + RANDOM % 20000))
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$dir" "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements" \
  start >/dev/null

server=postgres://postgres@127.0.0.1:$port
run() { # label binary → the run's result lines; its ranked figure appended to $work/label
  local label=$1 bin=$2 db="ab_${1,,}_$RANDOM$RANDOM"
  shift 2
  "${as_pg[@]}" "$pg_bin/psql" -h "$dir" -p "$port" -U postgres -qc "create database $db"
  local out
  out=$("$bin" bench "$@" --database-url "$server/$db" --data-dir "$work/$db" 2>&1 | grep -v '^\s*$' || true)
  "${as_pg[@]}" "$pg_bin/psql" -h "$dir" -p "$port" -U postgres -qc "drop database $db with (force)"
  rm -rf "${work:?}/$db"
  # The first row of numbers after the header is the one the bench ranks by.
  local figure
  figure=$(echo "$out" | awk '/^[a-z(). ]*[0-9]+ +[0-9]+/ {print $NF; exit}')
  echo "$figure" >>"$work/$label"
  echo "$out" | sed "s/^/$label  /"
}
for i in $(seq "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then
    run A "$a" "$@"; run B "$b" "$@"
  else
    run B "$b" "$@"; run A "$a" "$@"
  fi
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
echo "A $a: median $(median "$work/A") ($(sort -n "$work/A" | paste -sd' '))"
echo "B $b: median $(median "$work/B") ($(sort -n "$work/B" | paste -sd' '))"
