# PostgreSQL/PostGIS for the benchmarks (sourced): Debian's packages, a private cluster in the
# basin's output directory on a Unix socket only (no TCP), stopped when the script exits.
PGBIN=/usr/lib/postgresql/15/bin
PGUSER_OS=postgres

pg_install() {
  if ! command -v pg_config >/dev/null || [ ! -d /usr/share/postgresql/15/extension ] ||
     ! ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1; then
    echo "installing PostgreSQL and PostGIS (Debian)..." >&2
    local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 \
      postgresql-15-postgis-3 >/dev/null
  fi
}

run_pg() { if [ "$(id -u)" -eq 0 ]; then su "$PGUSER_OS" -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

# pg_start OUT: the cluster in OUT/pg, socket in OUT/pgsock; sets PSQL.
pg_start() {
  local out=$1
  PGDATA=$out/pg
  SOCK=$out/pgsock
  mkdir -p "$SOCK"
  if [ "$(id -u)" -eq 0 ]; then chown -R "$PGUSER_OS" "$out"; fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    run_pg "$PGBIN/initdb -D '$PGDATA' -A trust -U bench >/dev/null"
  fi
  run_pg "$PGBIN/pg_ctl -D '$PGDATA' -l '$out/pg.log' -w \
    -o \"-k '$SOCK' -c listen_addresses='' -p 55432 -c shared_buffers=2GB -c work_mem=256MB \
    -c max_parallel_workers_per_gather=2 -c jit=off\" start" >/dev/null
  trap 'run_pg "$PGBIN/pg_ctl -D \"$PGDATA\" -m fast stop" >/dev/null 2>&1 || true' EXIT
  PSQL="$PGBIN/psql -h $SOCK -p 55432 -U bench -d postgres -v ON_ERROR_STOP=1 -q"
}

# pg_load OUT [if-missing]: the generated basin's CSVs into reaches, outfalls, admin (EPSG:4326,
# GiST indexes). With if-missing, only when the tables are not there yet.
pg_load() {
  local out=$1
  if [ "${2:-}" = if-missing ] &&
     [ "$(run_pg "$PSQL -At -c \"SELECT to_regclass('public.admin') IS NOT NULL\"")" = t ]; then
    return
  fi
  run_pg "$PSQL" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS reaches, outfalls, admin, joined;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE reaches (reach_id text, name text, reach_class text, flow text, velocity_ms real,
                      wkt text);
CREATE TABLE outfalls (outfall_id text, name text, kind text, lon float8, lat float8);
CREATE TABLE admin (code text, name text, level text, parent_code text, province_code text,
                    wkt text);
\copy reaches FROM '$out/reaches.csv' CSV HEADER
\copy outfalls FROM '$out/outfalls.csv' CSV HEADER
\copy admin FROM '$out/admin.csv' CSV HEADER
ALTER TABLE reaches ADD COLUMN geom geometry(LineString, 4326);
UPDATE reaches SET geom = ST_GeomFromText(wkt, 4326);
ALTER TABLE outfalls ADD COLUMN geom geometry(Point, 4326);
UPDATE outfalls SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
ALTER TABLE admin ADD COLUMN geom geometry(MultiPolygon, 4326);
UPDATE admin SET geom = ST_GeomFromText(wkt, 4326);
CREATE INDEX ON reaches USING gist (geom);
CREATE INDEX ON outfalls USING gist (geom);
CREATE INDEX ON admin USING gist (geom);
VACUUM ANALYZE reaches; VACUUM ANALYZE outfalls; VACUUM ANALYZE admin;
SQL
}
