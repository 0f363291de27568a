"""Every constructor error is a SpecError (a NasgenError and a ValueError) with the field path, never pydantic's
ValidationError; the names needed to write a space in Python are public."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import nasgen
from nasgen.errors import ExportError, NasgenError, SpecError
from nasgen.space import Choice, IntRange, SearchSpace, StageSpace, StemSpace
from nasgen.spec import ArchSpec, FusedMBConvSpec, MBConvSpec, StemSpec

_STAGE = {"num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16}


@pytest.mark.parametrize(
    ("make", "path", "message"),
    [
        (lambda: StemSpec(out_channels=-1), "out_channels", "must be a positive integer, got -1"),
        (lambda: StemSpec(out_channels=8, stride=3), "stride", "must be 1 or 2, got 3"),
        (lambda: MBConvSpec(**{**_STAGE, "kernel_size": 4}), "kernel_size", "must be 3, 5 or 7, got 4"),
        (lambda: FusedMBConvSpec(**{**_STAGE, "se_ratio": 1.5}), "se_ratio", "less than or equal to 1"),
        (lambda: MBConvSpec(**_STAGE, colour="red"), "colour", "unknown field (check the spelling)"),
        (
            lambda: ArchSpec(stem={"out_channels": 8}, stages=[{"kind": "mbconv", **_STAGE, "num_layers": 0}]),
            "stages.0.num_layers",
            "must be a positive integer, got 0",
        ),
        (
            lambda: ArchSpec(stem=StemSpec(out_channels=8), stages=[MBConvSpec(**_STAGE)], resolution_px=1),
            "",
            "resolution_px 1 is below the total stride 2",
        ),
        (lambda: StemSpace(out_channels=Choice([8, -8])), "out_channels", "must be a positive integer, got -8"),
        (
            lambda: StageSpace(**{**_STAGE, "kernel_size": Choice([3, 4])}),
            "kernel_size",
            "must be 3, 5 or 7, got 4",
        ),
        (lambda: StageSpace(**{**_STAGE, "kind": "no_such_kind"}), "kind", "got 'no_such_kind'"),
    ],
)
def test_constructor_error_is_a_spec_error_with_a_path(make, path, message):
    with pytest.raises(SpecError) as caught:
        make()
    error = caught.value
    assert not isinstance(error, ValidationError)
    assert isinstance(error, NasgenError) and isinstance(error, ValueError)
    assert error.path == path
    assert message in error.message


def test_a_valid_space_written_in_python_with_the_public_names():
    space = nasgen.SearchSpace(
        name="py",
        stem=nasgen.StemSpace(out_channels=16),
        stages=[
            nasgen.StageSpace(num_layers=IntRange(1, 2), kernel_size=Choice([3, 5]), stride=1, expand_ratio=1,
                              out_channels=16),
            StageSpace(num_layers=1, kernel_size=3, stride=2, expand_ratio=Choice([4, 6]), out_channels=24),
        ],
        resolution_px=32,
    )
    assert isinstance(space, SearchSpace)
    assert space.size() == 2 * 2 * 2
    assert nasgen.Choice is Choice and nasgen.IntRange is IntRange and nasgen.ExportError is ExportError


def test_yaml_errors_keep_file_and_line():
    # the YAML path converts pydantic's error itself, with the line of the bad field
    with pytest.raises(SpecError) as caught:
        nasgen.loads_spec("stem: {out_channels: 8}\nstages:\n- {kind: mbconv, num_layers: 1, kernel_size: 4, "
                          "stride: 1, expand_ratio: 1, out_channels: 8}\n", file="a.yaml")
    assert (caught.value.file, caught.value.line, caught.value.path) == ("a.yaml", 3, "stages.0.kernel_size")
