CREATE TYPE "public"."preview_state" AS ENUM('pending', 'ready', 'none', 'failed');--> statement-breakpoint
CREATE TABLE "attachment_preview" (
	"attachment_id" uuid NOT NULL,
	"size" integer NOT NULL,
	"format" text NOT NULL,
	"storage_key" text NOT NULL,
	"content_type" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"size_bytes" integer NOT NULL,
	"etag" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attachment_preview_attachment_id_size_format_pk" PRIMARY KEY("attachment_id","size","format"),
	CONSTRAINT "attachment_preview_storage_key_unique" UNIQUE("storage_key")
);
--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_format" text;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_width" integer;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_height" integer;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_animated" boolean;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_has_alpha" boolean;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "image_placeholder" text;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "preview_state" "preview_state";--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "preview_reason" text;--> statement-breakpoint
ALTER TABLE "attachment_preview" ADD CONSTRAINT "attachment_preview_attachment_id_chat_attachment_id_fk" FOREIGN KEY ("attachment_id") REFERENCES "public"."chat_attachment"("id") ON DELETE cascade ON UPDATE no action;