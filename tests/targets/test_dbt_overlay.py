"""The overlay macros: a project's own naming macros are kept (renamed) and called for every node the
physical mapping does not name."""

from __future__ import annotations

from pathlib import Path

from finsight_release.targets.dbt_overlay import OVERLAY_FILE, install_overlay

OWN_SCHEMA_MACRO = """{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name or target.schema }}
{%- endmacro %}
"""


def test_a_project_without_naming_macros_falls_back_to_dbts_defaults(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    install_overlay(tmp_path)
    overlay = (tmp_path / "macros" / OVERLAY_FILE).read_text()
    assert "default__generate_schema_name(custom_schema_name, node)" in overlay
    assert "default__generate_alias_name(custom_alias_name, node)" in overlay
    assert "var('_finsight_physical', {})" in overlay


def test_a_projects_own_generate_schema_name_is_renamed_and_called(tmp_path: Path) -> None:
    macros = tmp_path / "macros"
    macros.mkdir()
    (macros / "naming.sql").write_text(OWN_SCHEMA_MACRO)
    install_overlay(tmp_path)
    install_overlay(tmp_path)  # idempotent: a second install renames nothing twice
    own = (macros / "naming.sql").read_text()
    assert "macro finsight_project__generate_schema_name(" in own
    assert "finsight_project__finsight_project__" not in own
    overlay = (macros / OVERLAY_FILE).read_text()
    assert "finsight_project__generate_schema_name(custom_schema_name, node)" in overlay
    assert "default__generate_alias_name(custom_alias_name, node)" in overlay
