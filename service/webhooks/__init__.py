"""Webhooks: publishers subscribe to claim events; deliveries follow the Standard Webhooks spec.

Events are written to an outbox in the same transaction as the change that caused them, then
sent by the background worker, signed, retried with backoff, every attempt recorded.
"""
