CREATE TABLE "attachment_access" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "attachment_access_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"attachment_id" uuid NOT NULL,
	"dialog_id" text NOT NULL,
	"variant" text NOT NULL,
	"viewer" text NOT NULL,
	"granted_by" text NOT NULL,
	"token_source" text NOT NULL,
	"status" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"client_hash" text,
	"at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "attachment_access_dialog_at_idx" ON "attachment_access" USING btree ("dialog_id","at","id");--> statement-breakpoint
CREATE INDEX "attachment_access_at_idx" ON "attachment_access" USING btree ("at");