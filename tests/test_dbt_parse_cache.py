"""dbt's partial-parse cache is kept across runs of one project dir and dropped when the project moved.

dbt keeps absolute paths in the cache and did not notice a move: a scale-l bench whose target dir
had been used from another checkout failed at the first seed ("No files found that match the
pattern <old checkout>/seeds/fx_rates.csv"). test_demo_end_to_end checks the cache still serves
every night after the first.
"""

from __future__ import annotations

from pathlib import Path

from crmwh.pipeline.dbt_runner import PARSED_PROJECT_MARKER, forget_parse_of_another_project


def _cache(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    path = target / "partial_parse.msgpack"
    path.write_bytes(b"saved parse")
    return path


def test_the_cache_of_the_same_project_is_kept(tmp_path: Path) -> None:
    target, project = tmp_path / "target", tmp_path / "project"
    assert forget_parse_of_another_project(target, project) is False  # first run: nothing cached yet
    cache = _cache(target)
    assert forget_parse_of_another_project(target, project) is False
    assert cache.exists()


def test_the_cache_of_another_project_dir_is_dropped(tmp_path: Path) -> None:
    target = tmp_path / "target"
    forget_parse_of_another_project(target, tmp_path / "old_checkout")
    cache = _cache(target)
    assert forget_parse_of_another_project(target, tmp_path / "new_checkout") is True
    assert not cache.exists()
    assert (target / PARSED_PROJECT_MARKER).read_text() == str((tmp_path / "new_checkout").resolve())


def test_a_cache_of_unknown_origin_is_dropped_once(tmp_path: Path) -> None:
    """A target dir from before the marker existed: one full parse, then the cache serves again."""
    target, project = tmp_path / "target", tmp_path / "project"
    cache = _cache(target)
    assert forget_parse_of_another_project(target, project) is True
    _cache(target)
    assert forget_parse_of_another_project(target, project) is False
    assert cache.exists()
