-- Run once, as a superuser, in the application database right after initdb (native backend) or
-- by the Postgres container's init hook (docker-compose). Idempotent.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alertdrill_app') THEN
    CREATE ROLE alertdrill_app LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postgres_exporter') THEN
    CREATE ROLE postgres_exporter LOGIN;
  END IF;
END
$$;

GRANT pg_monitor TO postgres_exporter;
GRANT ALL ON SCHEMA public TO alertdrill_app;
-- The native backend creates the database with this owner; the Postgres image creates it as postgres.
ALTER DATABASE alertdrill OWNER TO alertdrill_app;

CREATE SCHEMA IF NOT EXISTS monitoring;

-- Active client queries older than one second, with their age; the rule applies the real threshold.
-- One extra row with an empty pid and age 0 is always present, so "nothing is slow" (a zero) can be
-- told apart from "the exporter lost this query" (no series), which would silence the alert.
CREATE OR REPLACE VIEW monitoring.long_running_queries AS
  SELECT pid::text AS pid, datname::text, usename::text,
         EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8 AS seconds
    FROM pg_stat_activity
   WHERE state = 'active'
     AND backend_type = 'client backend'
     AND pid <> pg_backend_pid()
     AND query_start < clock_timestamp() - interval '1 second'
  UNION ALL
  SELECT '', current_database()::text, '', 0::float8;

-- Per table: time since the last (auto)vacuum, dead tuples, and autovacuum's own trigger point.
CREATE OR REPLACE VIEW monitoring.table_vacuum AS
  SELECT current_database()::text AS datname, schemaname::text, relname::text,
         EXTRACT(EPOCH FROM now() - COALESCE(GREATEST(last_vacuum, last_autovacuum),
                                             pg_postmaster_start_time()))::float8 AS seconds_since_vacuum,
         n_dead_tup::float8 AS dead_tuples,
         (current_setting('autovacuum_vacuum_threshold')::float8
          + current_setting('autovacuum_vacuum_scale_factor')::float8 * n_live_tup)::float8 AS autovacuum_threshold
    FROM pg_stat_user_tables;

GRANT USAGE ON SCHEMA monitoring TO postgres_exporter;
GRANT SELECT ON ALL TABLES IN SCHEMA monitoring TO postgres_exporter;
