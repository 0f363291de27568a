"""Built-in search spaces: the YAML files of this folder, by name (``efficientnet-v1.yaml`` → ``efficientnet-v1``).

Data only, shipped inside the package like the reference architectures of :mod:`nasgen.archs`; read by
``nasgen.space.builtin_space_files`` / ``load_space(name)`` and listed by ``nasgen spaces``. Spaces that plugins
contribute (hook ``nasgen_search_spaces``) ship with their plugins.
"""
