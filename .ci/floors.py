"""Print the declared minimum of every runtime dependency as a pin (``name==minimum``).

CI installs acsync with these as constraints in a second environment and runs the tests, so
the floors in pyproject.toml are versions that work, not guesses:

    python .ci/floors.py > floors.txt && pip install -c floors.txt -e '.[dev]'
    python .ci/floors.py --check      # (in that venv) every dependency is at its floor
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def floors(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = []
    for dep in deps:
        m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([^,;\s]+)", dep)
        if m is None:
            sys.exit(f"{dep!r} has no >= floor: declare one")
        name = m.group(1).split("[")[0]
        pins.append(f"{name}=={m.group(2)}")
    return pins


def check() -> None:
    """In the floors' venv: is every dependency installed at exactly its floor?"""
    from importlib.metadata import version

    from packaging.version import Version

    wrong = []
    for pin in floors():
        name, floor = pin.split("==")
        if Version(version(name)) != Version(floor):
            wrong.append(f"{name} {version(name)} (floor {floor})")
    if wrong:
        sys.exit("not at the floor: " + ", ".join(wrong))
    print("at the floors:", ", ".join(floors()))


if __name__ == "__main__":
    check() if sys.argv[1:] == ["--check"] else print("\n".join(floors()))
