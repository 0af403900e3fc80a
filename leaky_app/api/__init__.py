"""HTTP API, one module per version (seed Q373): no ``if v1 ... else`` in handlers."""
