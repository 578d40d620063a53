"""minova-image: a small Image service v2-compatible endpoint backed by local files."""
