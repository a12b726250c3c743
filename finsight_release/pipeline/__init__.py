"""The dev -> staging -> prod pipeline: which release should go where next, and who is behind."""
