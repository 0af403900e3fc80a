"""Renderers: typed records in, files or terminal output out."""
