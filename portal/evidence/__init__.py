"""Evidence: the files families and registrars attach to requests (docs/evidence.md)."""
