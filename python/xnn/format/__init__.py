"""Writing .xnn model files (docs/FORMAT.md)."""
