"""Conformance kits for plugin authors, as ``optuna.testing``: run them in your own test suite.

:func:`check_block_kind` checks a registered block kind end to end: the built block's output shapes and
params, the analytic cost of its cost rule against the thop measurement, the generated ``model.py``
round trip and TorchScript.

Example:
    >>> from nasgen.testing import check_block_kind
    >>> report = check_block_kind("mbconv", expand_ratios=(1, 4))  # doctest: +SKIP
    >>> report.cases[0].analytic_macs == report.cases[0].measured_macs  # doctest: +SKIP
    True
"""

from nasgen.testing._block_kind import BlockKindCase, BlockKindReport, check_block_kind

__all__ = ["BlockKindCase", "BlockKindReport", "check_block_kind"]
