"""Generated from ``reputation.proto`` by ``python -m reputation.codegen``; do not edit."""
