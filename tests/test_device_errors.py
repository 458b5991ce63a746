"""A device that is unknown or missing raises zen's own exception, whichever way zen reached
the backends, saying what to install or what is missing and that the CPU works; and zen
refuses to start on a ``backends`` that is not its own."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_zen_refuses_a_backends_module_that_is_not_its_own(tmp_path):
    """A backends.py of the user's own, first on sys.path, would shadow zen's."""
    (tmp_path / "backends.py").write_text("VERSION = 1\n")
    result = subprocess.run([sys.executable, "-c", "import zen"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path),
                                                                              ROOT])})
    assert result.returncode != 0
    assert (f"ImportError: zen: the module 'backends' that Python found, at "
            f"{tmp_path / 'backends.py'}, is not zen's own array backends") in result.stderr
