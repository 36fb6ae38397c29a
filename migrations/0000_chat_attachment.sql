CREATE TYPE "public"."attachment_status" AS ENUM('UPLOADED', 'LINKED');--> statement-breakpoint
CREATE TABLE "chat_attachment" (
	"id" uuid PRIMARY KEY NOT NULL,
	"dialog_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"uploaded_by" text NOT NULL,
	"status" "attachment_status" DEFAULT 'UPLOADED' NOT NULL,
	"message_id" text,
	"storage_key" text NOT NULL,
	"file_name" text NOT NULL,
	"declared_content_type" text,
	"content_type" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"etag" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"linked_at" timestamp (3) with time zone,
	"last_modified" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chat_attachment_storage_key_unique" UNIQUE("storage_key"),
	CONSTRAINT "chat_attachment_linked_has_message" CHECK (("chat_attachment"."status" = 'LINKED') = ("chat_attachment"."message_id" IS NOT NULL)),
	CONSTRAINT "chat_attachment_size_not_negative" CHECK ("chat_attachment"."size_bytes" >= 0),
	CONSTRAINT "chat_attachment_sha256_hex" CHECK ("chat_attachment"."sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE INDEX "chat_attachment_dialog_id_id_idx" ON "chat_attachment" USING btree ("dialog_id","id");--> statement-breakpoint
CREATE INDEX "chat_attachment_status_created_at_idx" ON "chat_attachment" USING btree ("status","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_attachment_message_id_storage_key_idx" ON "chat_attachment" USING btree ("message_id","storage_key");