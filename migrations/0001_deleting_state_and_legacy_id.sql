ALTER TYPE "public"."attachment_status" ADD VALUE 'DELETING';--> statement-breakpoint
ALTER TABLE "chat_attachment" DROP CONSTRAINT "chat_attachment_linked_has_message";--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD COLUMN "legacy_id" text;--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD CONSTRAINT "chat_attachment_staged_has_no_message" CHECK ("chat_attachment"."status" <> 'UPLOADED' OR "chat_attachment"."message_id" IS NULL);--> statement-breakpoint
ALTER TABLE "chat_attachment" ADD CONSTRAINT "chat_attachment_linked_has_message" CHECK ("chat_attachment"."status" <> 'LINKED' OR "chat_attachment"."message_id" IS NOT NULL);