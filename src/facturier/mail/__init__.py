"""Email: the texts of every message (built in, or a company's own), their composition from
outbox rows, the transport that logs each recipient, and the embedded mailbox.

`texts` is pure Python (no Django). The other modules read billing models; nothing in
`billing` imports this package: billing writes outbox rows, the worker hands them here.
"""
