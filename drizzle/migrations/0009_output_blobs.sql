CREATE TABLE "output_blobs" (
	"execution_id" uuid NOT NULL,
	"blob_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"size" integer NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "output_blobs_pk" PRIMARY KEY("execution_id","blob_id")
);
--> statement-breakpoint
ALTER TABLE "output_blobs" ADD CONSTRAINT "output_blobs_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "output_blobs_workspace_idx" ON "output_blobs" USING btree ("workspace_id");--> statement-breakpoint
-- A tenant table: its rows are seen only in their workspace's tenant transactions (0008).
SELECT weft_enable_tenant_rls('output_blobs');