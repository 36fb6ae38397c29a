-- Every instance keeps recently read rows in memory for the browser read path
-- (src/db/row-cache.ts) and drops a row as soon as Postgres says it changed:
-- these triggers NOTIFY the attachment's id on every UPDATE or DELETE of
-- chat_attachment, and on every DELETE of one of its previews. INSERTs need
-- no notice: the cache never remembers that a row was missing.
-- Notifications are sent at commit, in commit order, and only for committed
-- transactions.
CREATE FUNCTION chat_attachment_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'attachment_preview' THEN
    PERFORM pg_notify('chat_attachment_changed', OLD.attachment_id::text);
  ELSE
    PERFORM pg_notify('chat_attachment_changed', OLD.id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER chat_attachment_notify_change AFTER UPDATE OR DELETE ON chat_attachment
  FOR EACH ROW EXECUTE FUNCTION chat_attachment_notify_change();
--> statement-breakpoint
CREATE TRIGGER attachment_preview_notify_change AFTER DELETE ON attachment_preview
  FOR EACH ROW EXECUTE FUNCTION chat_attachment_notify_change();
