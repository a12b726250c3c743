"""Drivers of the external tools the packaging checks run: uv, and wheel builds in build environments."""
