"""Taking the web UI's build out of an ``mlflow`` wheel, as the install step does.

The wheels here are made by the tests: nothing is downloaded.
"""

import zipfile
from pathlib import Path

import pytest

from tracker.ui.fetch_build import UnsafeWheel, extract_build, fetch_build

BUILD = "mlflow/server/js/build/"


def _wheel(folder: Path, members: dict[str, bytes]) -> Path:
    wheel = folder / "mlflow-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return wheel


def test_extract_build_keeps_only_the_ui_files(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path,
        {
            "mlflow/__init__.py": b"",
            BUILD + "index.html": b"<html></html>",
            BUILD + "static/js/main.1.js": b"app()",
            "mlflow-9.9.9.dist-info/METADATA": b"",
        },
    )
    destination = tmp_path / "ui" / "9.9.9"

    count = extract_build(wheel, destination)

    assert count == 2
    assert sorted(
        str(path.relative_to(destination))
        for path in destination.rglob("*")
        if path.is_file()
    ) == ["index.html", "static/js/main.1.js"]
    assert (destination / "static/js/main.1.js").read_bytes() == b"app()"


@pytest.mark.parametrize("name", ["../../escape.js", "/etc/escape.js", "a\\..\\b.js"])
def test_extract_build_refuses_a_member_outside_the_build(
    tmp_path: Path, name: str
) -> None:
    wheel = _wheel(tmp_path, {BUILD + "index.html": b"", BUILD + name: b"x"})
    destination = tmp_path / "ui" / "9.9.9"

    with pytest.raises(UnsafeWheel, match="refusing wheel member"):
        extract_build(wheel, destination)

    assert not destination.exists()
    assert not (tmp_path / "escape.js").exists()


def test_extract_build_refuses_a_wheel_without_a_build(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"mlflow/__init__.py": b""})

    with pytest.raises(FileNotFoundError, match="holds no"):
        extract_build(wheel, tmp_path / "ui" / "9.9.9")

    assert list((tmp_path / "ui").iterdir()) == []


def test_fetch_build_uses_the_cached_wheel(tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    cache.mkdir()
    _wheel(cache, {BUILD + "index.html": b"<html>cached</html>"})

    built = fetch_build("9.9.9", tmp_path / "9.9.9", cache)

    assert (built / "index.html").read_bytes() == b"<html>cached</html>"


def test_fetch_build_leaves_a_build_in_place(tmp_path: Path) -> None:
    destination = tmp_path / "9.9.9"
    destination.mkdir()
    (destination / "index.html").write_bytes(b"<html>kept</html>")

    fetch_build("9.9.9", destination, tmp_path / "no-cache")

    assert (destination / "index.html").read_bytes() == b"<html>kept</html>"
    assert not (tmp_path / "no-cache").exists()
