"""Every install command that zen's messages, scripts and documents give installs the right
thing: never the package index's `zen` (another project), and only extras that exist."""

import configparser
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ["zen", "backends", "tests", "examples", "benchmarks", ".ci"]
DOCUMENTS = ["README.md", "setup.cfg"]      # CHANGELOG.md keeps the history as it was
# `pip install zen...` or an extra of the index's zen (`'zen[mpi]'`, "install zen[oracle]").
INDEX_ZEN = re.compile(r"""pip install\s+["']?zen(?![\w-])|(?<![\w.])zen\[""")
CHECKOUT_EXTRAS = re.compile(r"""["']\.\[([\w,-]+)\]["']""")      # ".[test,examples]"


def _texts():
    paths = [os.path.join(ROOT, name) for name in DOCUMENTS]
    for folder in FOLDERS:
        for directory, _, names in os.walk(os.path.join(ROOT, folder)):
            paths += [os.path.join(directory, name) for name in names
                      if name.endswith((".py", ".sh", ".md")) or name == "run"]
    for path in sorted(set(paths) - {os.path.abspath(__file__)}):     # not these examples
        with open(path, encoding="utf-8") as file:
            yield os.path.relpath(path, ROOT), file.read()


def _lines(pattern):
    return [(name, number, line.strip())
            for name, text in _texts()
            for number, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


def test_no_install_command_names_the_package_indexs_zen():
    assert _lines(INDEX_ZEN) == []


def test_every_extra_that_an_install_command_names_exists():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    extras = set(config["options.extras_require"])
    named = [(name, number, extra) for name, number, line in _lines(CHECKOUT_EXTRAS)
             for match in CHECKOUT_EXTRAS.finditer(line) for extra in match[1].split(",")]
    assert {extra for *_, extra in named} >= {"cuda12", "cuda13", "mpi", "test"}
    assert [(name, number, extra) for name, number, extra in named if extra not in extras] == []


@pytest.mark.parametrize("line", ["pip install 'zen[cuda12]'", "install zen[oracle]",
                                  'pip install "zen[mpi]"', "pip install zen"])
def test_the_index_zen_pattern_finds_each_old_form(line):
    assert INDEX_ZEN.search(line)


def test_an_install_takes_every_package_of_the_tree():
    """`pip install .` ships what setup.cfg's package patterns find: each folder of zen/ and
    backends/ holding an __init__.py must be among them (zen.layers once was not)."""
    import setuptools

    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    assert config["options"]["packages"].strip() == "find:"
    include = config["options.packages.find"]["include"].replace(",", " ").split()
    shipped = set(setuptools.find_packages(where=ROOT, include=include))
    in_tree = {os.path.relpath(folder, ROOT).replace(os.sep, ".")
               for top in ("zen", "backends")
               for folder, _, files in os.walk(os.path.join(ROOT, top))
               if "__init__.py" in files}
    assert in_tree <= shipped and {"zen.layers", "backends"} <= shipped
