"""Background consumers of the durable event log (notifications, webhooks, auto-moderation)."""
