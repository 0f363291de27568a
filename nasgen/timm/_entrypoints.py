"""The module of the timm entrypoints that :func:`nasgen.timm.register` makes (``nasgen_<name>`` functions).

timm's registry files a model under its entrypoint's module and lists the name in that module's ``__all__``;
this empty module keeps those entries apart from nasgen's own code. It imports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
