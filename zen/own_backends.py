"""Checks, before the rest of zen imports from it, that the ``backends`` Python finds is zen's
own: the name is common, and a module of that name earlier on ``sys.path`` (a backends.py or
backends/ folder of your own, in the current directory say) would take its place."""

import backends


def _where(module):
    return getattr(module, "__file__", None) or ", ".join(getattr(module, "__path__", []))


if getattr(backends, "ZEN_BACKENDS", None) is not True:
    raise ImportError(f"zen: the module 'backends' that Python found, at {_where(backends)}, is "
                      f"not zen's own array backends but another module of that name, earlier "
                      f"on sys.path: rename it, or run from a directory without it")
