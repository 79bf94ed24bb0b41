ALTER TABLE "workspaces" ADD COLUMN "fallback_price" jsonb;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "pricing" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "unpriced_tokens" bigint;--> statement-breakpoint
ALTER TABLE "node_runs" ADD COLUMN "pricing" text;--> statement-breakpoint
ALTER TABLE "node_runs" ADD COLUMN "priced_as" text;--> statement-breakpoint
-- A dated name is priced as its base model (shared/src/engine/pricing.ts) unless it has a row
-- of its own. gpt-4o-2024-05-13 is the one seeded snapshot billed differently from its base
-- (gpt-4o, $2.50/$10), so it gets its own row; it has no cache discount.
INSERT INTO "model_pricing" ("provider", "model", "input_per_1m", "output_per_1m", "reasoning_per_1m", "cached_per_1m") VALUES
	('openai', 'gpt-4o-2024-05-13', 5, 15, 15, 5)
ON CONFLICT ("provider", "model") DO NOTHING;
