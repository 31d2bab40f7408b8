"""Plugin ``ray``: the ``ray`` engine, embedding a collection's passages in a Ray actor pool.

Ray loads only when an engine embeds (``pip install 'latentstack[ray]'``).
"""

from __future__ import annotations

from latentstack.hookspecs import hookimpl
from latentstack_ray.engine import RayEngine

#: Libraries this plugin needs, by import name, and the pip requirement that brings them.
latentstack_requires = {"ray": "latentstack[ray]", "pyarrow": "latentstack[ray]"}


@hookimpl
def register_engines(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Register the ``ray`` engine."""
    register(RayEngine)


@hookimpl
def register_bench_suites(register):  # noqa: ANN001, ANN201 - the hook's callback
    """Add the ``scale`` benchmark suite."""
    from latentstack_ray.bench_scale import scale

    register(scale)
