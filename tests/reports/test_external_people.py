"""The external export strips the people a post-mortem blames and the store's own list of
names (`external: {strip_names: [...]}` in emberline.yaml)."""

from __future__ import annotations

from pipelines.reports.external import PERSON_REPLACEMENT, ExternalConfig, _internal_names_for
from tests.conftest import write


def test_people_named_in_blame_and_listed_names_are_replaced(tmp_path):
    config_file = write(tmp_path / "emberline.yaml", """
        external:
          strip_names: [Zed Okafor]
          replacements: {vector-store: search index}
        """)
    config = ExternalConfig.load(config_file)
    assert config.people == ["Zed Okafor"] and config.replacements == {"vector-store": "search index"}
    pm = {"markdown": "## Root cause\nThe outage was caused by Tom Becker.\nMaria restored the index.\n",
          "services": [], "team": None}
    names = _internal_names_for(pm, [], config)
    text = names("Tom Becker and Zed Okafor looked at the vector-store; Maria restored it.")
    assert text == (f"{PERSON_REPLACEMENT} and {PERSON_REPLACEMENT} looked at the search index; "
                    "Maria restored it.")  # Maria is not blamed and not listed: her name is not touched
