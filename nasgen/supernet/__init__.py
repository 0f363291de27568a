"""Weight-sharing supernets derived from a search space: trained once, then thousands of subnets scored.

:class:`Supernet` holds every architecture of a :class:`~nasgen.space.SearchSpace` in one network (a branch per
block kind per stage holding its largest blocks; a subnet is a slice: Once-for-All, BigNAS), and
:meth:`Supernet.extract` gives an ordinary :class:`~nasgen.nn.EfficientNet` with the inherited weights.
:func:`train_supernet` trains it once per (space, data, recipe) into a run directory (resumable, reused);
:class:`SubnetScorer` scores a subnet after recalibrating its BatchNorm statistics; :func:`load_supernet` maps a
trained one into memory for other processes. See ``docs/supernet.md``.

Example:
    >>> from nasgen.data import load_dataset
    >>> from nasgen.supernet import SubnetScorer, supernet_recipe, train_supernet
    >>> run = train_supernet("examples/small_space.yaml", load_dataset(), supernet_recipe("quick"), "runs/x", seed=0)
    ... # doctest: +SKIP
    >>> SubnetScorer(run.supernet, load_dataset(), run.recipe).score(run.supernet.smallest()).val_top1  # doctest: +SKIP
    0.71
"""

from nasgen.supernet._layout import Branch
from nasgen.supernet._net import Supernet
from nasgen.supernet._recipes import default_supernet_recipe, supernet_recipe
from nasgen.supernet._score import SubnetScore, SubnetScorer
from nasgen.supernet._store import SUPERNET_DIR, SupernetRun, load_supernet
from nasgen.supernet._train import train_supernet

__all__ = [
    "SUPERNET_DIR",
    "Branch",
    "SubnetScore",
    "SubnetScorer",
    "Supernet",
    "SupernetRun",
    "default_supernet_recipe",
    "load_supernet",
    "supernet_recipe",
    "train_supernet",
]
