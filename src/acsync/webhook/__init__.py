"""The webhook receiver: authenticate, store the raw body durably, answer; parse later."""
