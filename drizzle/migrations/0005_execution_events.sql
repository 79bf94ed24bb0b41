CREATE TABLE "execution_events" (
	"execution_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"ms" bigint NOT NULL,
	"seq" integer NOT NULL,
	"event" jsonb NOT NULL,
	CONSTRAINT "execution_events_pk" PRIMARY KEY("execution_id","ms","seq")
);
--> statement-breakpoint
ALTER TABLE "execution_events" ADD CONSTRAINT "execution_events_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "execution_events_workspace_idx" ON "execution_events" USING btree ("workspace_id");