CREATE TYPE "public"."deletion_reason" AS ENUM('deleted', 'erased', 'retention', 'stale');--> statement-breakpoint
CREATE TABLE "attachment_tombstone" (
	"attachment_id" uuid PRIMARY KEY NOT NULL,
	"dialog_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"message_id" text,
	"reason" "deletion_reason" NOT NULL,
	"deleted_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dialog_policy" (
	"dialog_id" text PRIMARY KEY NOT NULL,
	"retention_days" integer,
	"legal_hold" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dialog_policy_retention_positive" CHECK ("dialog_policy"."retention_days" IS NULL OR "dialog_policy"."retention_days" > 0)
);
--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "deletion_reason" "deletion_reason";--> statement-breakpoint
CREATE INDEX "attachment_tombstone_dialog_deleted_idx" ON "attachment_tombstone" USING btree ("dialog_id","deleted_at","attachment_id");