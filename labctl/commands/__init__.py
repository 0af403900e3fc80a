"""``labctl`` command groups, one module each; ``labctl.cli`` mounts them."""
