"""Finding backends: the built-in vendors, and third-party `mediagen.backends` entry points read through
importlib.metadata only when an installed distribution may declare one."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from mediagen.adapters.plugins import (
    BUILTIN_MODULES,
    ENTRY_POINT_GROUP,
    discover_plugins,
    entry_point_plugins,
    may_declare,
)

PLUGIN_MODULE = """
from mediagen.testing import fake_plugin, fake_spec

PLUGIN = fake_plugin(fake_spec("{name}"))
"""


def distribution(folder: Path, name: str, entry_points: str | None, suffix: str = ".dist-info") -> Path:
    """An installed distribution's metadata folder, as pip leaves it, with `entry_points` as its entry_points.txt."""
    info = folder / f"{name}-1.0{suffix}"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)
    return info


def test_no_distribution_declaring_the_group_means_no_look(tmp_path: Path) -> None:
    distribution(tmp_path, "tool", "[console_scripts]\ntool = tool:main\n")
    distribution(tmp_path, "plain", None)
    distribution(tmp_path, "legacy", None, suffix=".egg-info")
    (tmp_path / "notes-1.0.egg-info").write_text("Name: notes\n")  # an egg-info file, not a folder
    missing = tmp_path / "missing"
    assert not may_declare(ENTRY_POINT_GROUP, [str(tmp_path), str(missing)], [])


@pytest.mark.parametrize("suffix", [".dist-info", ".egg-info", ".DIST-INFO"])
def test_a_distribution_declaring_the_group_is_seen(tmp_path: Path, suffix: str) -> None:
    distribution(tmp_path, "acme", f"[{ENTRY_POINT_GROUP}]\nacme = acme:PLUGIN\n", suffix=suffix)
    assert may_declare(ENTRY_POINT_GROUP, [str(tmp_path)], [])


def test_an_egg_s_metadata_is_seen(tmp_path: Path) -> None:
    egg = tmp_path / "acme-1.0-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = acme:PLUGIN\n")
    assert may_declare(ENTRY_POINT_GROUP, [str(egg)], [])


def test_what_it_cannot_look_into_is_left_to_importlib_metadata(tmp_path: Path) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.writestr("acme-1.0.dist-info/entry_points.txt", f"[{ENTRY_POINT_GROUP}]\nacme = acme:PLUGIN\n")
    assert may_declare(ENTRY_POINT_GROUP, [str(archive)], [])

    class Finder:
        """A meta-path finder that finds distributions of its own."""

        def find_distributions(self, context: object = None) -> list[object]:
            return []

    assert may_declare(ENTRY_POINT_GROUP, [], [Finder()])
    assert may_declare(ENTRY_POINT_GROUP, [Path(tmp_path)], [])  # not text: importlib.metadata decides


def test_an_installed_third_party_backend_is_found_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_backend_found.py").write_text(PLUGIN_MODULE.format(name="acme"))
    distribution(tmp_path, "acme-backend", f"[{ENTRY_POINT_GROUP}]\nacme = acme_backend_found:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_backend_found", raising=False)
    assert [p.spec.name for p in entry_point_plugins()] == ["acme"]
    names = [p.spec.name for p in discover_plugins()]
    assert names == [module.rsplit(".", 1)[1] for module in BUILTIN_MODULES] + ["acme"]


def test_every_group_importlib_metadata_finds_here_is_seen() -> None:
    from importlib.metadata import distributions

    groups = {entry.group for dist in distributions() for entry in dist.entry_points}
    assert groups, "this environment has entry points (pytest's own, console scripts)"
    assert [group for group in sorted(groups) if not may_declare(group)] == []
    assert not may_declare("mediagen.no-such-group")
