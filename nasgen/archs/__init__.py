"""Built-in reference architectures: the YAML files of this folder, by name (``efficientnet-b0.yaml`` →
``efficientnet-b0``).

Data only, shipped inside the package like the built-in search spaces of ``search_spaces/``; read by
``nasgen.spec.load_spec(name)`` / ``builtin_architectures()``. Scaling presets (B1–B7) ship with the compound-scaling
plugin (``plugins/nasgen_scaling/presets.yaml``).
"""
