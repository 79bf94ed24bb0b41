-- Row-level security on every tenant table: a second wall behind the repositories' own
-- `workspace_id = …` filters (docs/architecture.md, "Row-level security").
--
-- A superuser, or a table's owner, bypasses RLS (the owner even with FORCE unless a policy lets
-- it in), and DATABASE_URL usually connects as one. So a tenant transaction changes role:
--   BEGIN; SET LOCAL ROLE weft_app; SELECT set_config('weft.workspace_id', '<uuid>', true)
-- weft_app is neither superuser nor owner; its policy shows it the rows of that workspace only,
-- and none at all when the setting is missing or empty. Engine-internal paths run as the
-- connecting role (the "system" context); weft_system is the role that lets a connecting role
-- that is a plain owner (not a superuser) still see every row under FORCE, by membership.
--
-- Roles belong to the cluster, not to the database, and several databases of one cluster may
-- migrate at once (tests do): create each only when missing, and tolerate losing the race.
-- Creating them needs CREATEROLE; a DBA may instead create both roles and grant them to the
-- migrating role beforehand, and then this block creates and grants nothing.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['weft_app', 'weft_system'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by the migration of another database of the cluster
      END;
    END IF;
    -- A superuser may SET ROLE to any role and bypasses RLS: it needs no membership.
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role(current_user, role_name, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', role_name, current_user);
      EXCEPTION WHEN unique_violation THEN
        NULL; -- granted meanwhile by the migration of another database of the cluster
      END;
    END IF;
  END LOOP;
END $$;--> statement-breakpoint
-- Puts a table under the tenant policy: RLS enabled and forced, weft_app sees and writes the
-- rows whose `tenant_column` is the transaction's workspace, weft_system every row. A later
-- migration adding a table with a workspace_id column calls it:
--   SELECT weft_enable_tenant_rls('new_table');
-- (test/integration/row-level-security.test.ts fails until it does).
CREATE OR REPLACE FUNCTION weft_enable_tenant_rls(tbl regclass, tenant_column name DEFAULT 'workspace_id') RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS weft_tenant ON %s', tbl);
  EXECUTE format(
    $p$CREATE POLICY weft_tenant ON %1$s AS PERMISSIVE FOR ALL TO weft_app
       USING (%2$I = nullif(current_setting('weft.workspace_id', true), '')::uuid)
       WITH CHECK (%2$I = nullif(current_setting('weft.workspace_id', true), '')::uuid)$p$,
    tbl, tenant_column);
  EXECUTE format('DROP POLICY IF EXISTS weft_system ON %s', tbl);
  EXECUTE format('CREATE POLICY weft_system ON %s AS PERMISSIVE FOR ALL TO weft_system USING (true) WITH CHECK (true)', tbl);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO weft_app', tbl);
END
$fn$;--> statement-breakpoint
REVOKE ALL ON FUNCTION weft_enable_tenant_rls(regclass, name) FROM PUBLIC;--> statement-breakpoint
-- Every table that has a workspace_id column today.
DO $$
DECLARE
  tbl regclass;
BEGIN
  FOR tbl IN
    SELECT format('%I.%I', c.table_schema, c.table_name)::regclass
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND c.column_name = 'workspace_id' AND t.table_type = 'BASE TABLE'
  LOOP
    PERFORM weft_enable_tenant_rls(tbl);
  END LOOP;
END $$;--> statement-breakpoint
-- A workspace sees its own row, and may change its settings; creating and deleting workspaces
-- are admin operations, run as system.
SELECT weft_enable_tenant_rls('workspaces', 'id');--> statement-breakpoint
REVOKE INSERT, DELETE ON "workspaces" FROM weft_app;--> statement-breakpoint
-- A flow's versions have no workspace_id of their own: they belong to the workspace of their
-- flow. The subquery runs under flows' own policy, so weft_app sees the versions of its flows.
ALTER TABLE "flow_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "flow_versions" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY weft_tenant ON "flow_versions" AS PERMISSIVE FOR ALL TO weft_app
  USING (EXISTS (SELECT 1 FROM "flows" f WHERE f.id = "flow_versions"."flow_id"))
  WITH CHECK (EXISTS (SELECT 1 FROM "flows" f WHERE f.id = "flow_versions"."flow_id"));--> statement-breakpoint
CREATE POLICY weft_system ON "flow_versions" AS PERMISSIVE FOR ALL TO weft_system USING (true) WITH CHECK (true);--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "flow_versions" TO weft_app;
