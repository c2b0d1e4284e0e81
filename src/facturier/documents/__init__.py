"""Documents produced from an issued invoice or credit note: the EN 16931 CII XML (Factur-X).

Pure code working on the plain dict the billing app stores for an issued document (see
``facturier.billing.snapshots``): no Django, no database.
"""
