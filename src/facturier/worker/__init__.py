"""The background worker: billing at each company's hour, and the outbox."""
