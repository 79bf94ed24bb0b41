CREATE TABLE "task_secret_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"execution_id" uuid NOT NULL,
	"node_id" text NOT NULL,
	"handler" text NOT NULL,
	"worker_token_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"secret_names" jsonb NOT NULL,
	"delivered_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"execution_id" uuid NOT NULL,
	"flow_id" uuid NOT NULL,
	"flow_version" integer NOT NULL,
	"node_id" text NOT NULL,
	"handler" text NOT NULL,
	"queue" text,
	"status" text NOT NULL,
	"input" jsonb,
	"secret_names" jsonb NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"backoff" jsonb,
	"heartbeat_timeout_ms" integer NOT NULL,
	"lease_id" uuid,
	"lease_expires_at" timestamp (3) with time zone,
	"worker_token_id" uuid,
	"available_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"checkpoint" jsonb,
	"progress" jsonb,
	"node_started_at" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "worker_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"token_hash" text NOT NULL,
	"handlers" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp (3) with time zone,
	CONSTRAINT "worker_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
ALTER TABLE "task_secret_deliveries" ADD CONSTRAINT "task_secret_deliveries_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "worker_tokens" ADD CONSTRAINT "worker_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_secret_deliveries_workspace_idx" ON "task_secret_deliveries" USING btree ("workspace_id","delivered_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_execution_node_unique" ON "tasks" USING btree ("execution_id","node_id");--> statement-breakpoint
CREATE INDEX "tasks_claim_idx" ON "tasks" USING btree ("workspace_id","handler","status","available_at");--> statement-breakpoint
CREATE INDEX "worker_tokens_workspace_idx" ON "worker_tokens" USING btree ("workspace_id");--> statement-breakpoint
-- Tenant tables: their rows are seen only in their workspace's tenant transactions (0008).
SELECT weft_enable_tenant_rls('worker_tokens');--> statement-breakpoint
SELECT weft_enable_tenant_rls('tasks');--> statement-breakpoint
SELECT weft_enable_tenant_rls('task_secret_deliveries');
