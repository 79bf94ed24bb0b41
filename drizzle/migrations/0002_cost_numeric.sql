ALTER TABLE "executions" ADD COLUMN "total_cost_usd" numeric(20, 9);--> statement-breakpoint
ALTER TABLE "node_runs" ADD COLUMN "total_cost_usd" numeric(20, 9);