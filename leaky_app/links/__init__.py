"""The link shortener domain (seed Q368): codes, URL rules, storage, caching, click counts."""
