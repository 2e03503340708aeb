"""The web layer: one ASGI app over the built store and files (never the sources)."""
