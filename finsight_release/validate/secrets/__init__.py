"""``secrets.*``: credentials in artifact files, and resolving secret references without reading values."""
