"""The install prints no deprecation warning of our own (issue 13): the package is built as
`make` builds it (pip, isolated build environment) and the build backend's output is read."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_building_the_package_warns_of_nothing_deprecated(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "--wheel-dir",
         str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-3000:]
    warned = [line for line in output.splitlines() if "Deprecat" in line or "deprecated" in line]
    assert warned == [], "\n".join(warned)
    assert list(tmp_path.glob("tambour-*.whl"))


def test_make_demo_needs_no_node_and_make_test_installs_the_reference() -> None:
    """`make demo` sets up Python only; Node.js and npm are for the SMS reference tests."""

    def planned(target: str) -> str:
        done = subprocess.run(
            ["make", "--dry-run", "--always-make", target],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    demo, test = planned("demo"), planned("test")
    assert "pip install" in demo and "tambour demo" in demo
    assert "npm" not in demo
    assert "npm ci" in test
