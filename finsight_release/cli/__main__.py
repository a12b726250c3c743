"""``python -m finsight_release.cli``."""

from finsight_release.cli import main

main()
