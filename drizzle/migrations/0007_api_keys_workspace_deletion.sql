ALTER TABLE "api_keys" ADD COLUMN "name" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "deleting_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "executions_workspace_status_idx" ON "executions" USING btree ("workspace_id","status");