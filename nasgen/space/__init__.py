"""Search spaces over EfficientNet-family architectures (no torch, no Optuna).

A :class:`SearchSpace` flattens to ``{label: dimension}`` (:meth:`SearchSpace.dimensions`) with stable
dotted labels such as ``stages.3.kernel_size``; a sample is a plain ``{label: value}`` dict and
:meth:`SearchSpace.freeze` turns it into an :class:`~nasgen.spec.ArchSpec`. Spaces are written in YAML
(built-in ones in ``search_spaces/``) or in Python.

Example:
    >>> from nasgen.space import load_space
    >>> space = load_space("efficientnet-v1")
    >>> space.contains(space.sample(seed=0))
    True
"""

from nasgen.space._count import count_stage_sequences
from nasgen.space._dimensions import Choice, Dimension, Fixed, IntRange, dimension_to_data, parse_dimension
from nasgen.space._io import builtin_space_files, builtin_spaces, dump_space, load_space, loads_space
from nasgen.space._macs import EXHAUSTIVE_LIMIT
from nasgen.space._models import BLOCK_KINDS, GLOBAL_FIELDS, STAGE_FIELDS, StageSpace, StemSpace
from nasgen.space._schema import space_json_schema
from nasgen.space._share import BudgetShare, budget_share, wilson_interval
from nasgen.space._space import PRESENT, SearchSpace

__all__ = [
    "BLOCK_KINDS",
    "BudgetShare",
    "EXHAUSTIVE_LIMIT",
    "GLOBAL_FIELDS",
    "PRESENT",
    "STAGE_FIELDS",
    "Choice",
    "Dimension",
    "Fixed",
    "IntRange",
    "SearchSpace",
    "StageSpace",
    "StemSpace",
    "budget_share",
    "builtin_space_files",
    "builtin_spaces",
    "count_stage_sequences",
    "dimension_to_data",
    "dump_space",
    "load_space",
    "loads_space",
    "parse_dimension",
    "space_json_schema",
    "wilson_interval",
]
