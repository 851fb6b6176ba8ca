# A throwaway PostgreSQL cluster on its own port and socket folder, for tests and benchmarks. Source this file,
# call `postgres_start PORT`, and it is removed when the calling script exits. Sets PG_URL, PG_STOP and PG_START.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/teacher-id-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi

postgres_start() {
  local port="$1"
  local options="-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off"
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  PG_STOP="${as_pg[*]} $pg_bin/pg_ctl -D $pg_dir/data -m fast -w stop"
  PG_START="${as_pg[*]} $pg_bin/pg_ctl -D $pg_dir/data -l $pg_dir/log -o '$options' -w start"
  trap postgres_remove EXIT
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >/dev/null &&
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -o "$options" -w start >/dev/null
}

postgres_remove() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$pg_dir"
}
