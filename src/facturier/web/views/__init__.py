"""Views of the web UI, one module per section. Each view declares its capability with
``@requires`` (see facturier.web.access) and calls one service or selector."""
