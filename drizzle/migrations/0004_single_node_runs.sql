ALTER TABLE "executions" ADD COLUMN "single_node_id" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "preset_results" jsonb;