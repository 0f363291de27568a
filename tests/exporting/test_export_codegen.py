"""The generated model.py: readable, torch-only, and the same network as build_model key for key."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest
import torch
from export_helpers import small, tiny_spec, trained_like

from nasgen.errors import ExportError
from nasgen.exporting import import_model_code, render_model_code
from nasgen.exporting._codegen import state_dict_shapes
from nasgen.exporting._templates import ACTIVATION_CODE
from nasgen.nn import ACTIVATION_LAYERS, DropPath, build_model
from nasgen.spec import ACTIVATIONS, load_spec


def _generated(spec, tmp_path):
    path = tmp_path / "model.py"
    path.write_text(render_model_code(spec), encoding="utf-8")
    return import_model_code(path)


@pytest.mark.parametrize("name", ["efficientnet-b0", "efficientnetv2-s", "efficientnetv2-m"])
def test_code_compiles_and_imports_only_torch(name):
    code = render_model_code(load_spec(name))
    tree = ast.parse(compile(code, "model.py", "exec", flags=ast.PyCF_ONLY_AST))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"torch", "typing"}
    assert max(len(line) for line in code.splitlines()) <= 120
    assert "build" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_docstring_carries_cost_convention_hash_and_origin():
    spec = load_spec("efficientnet-b0")
    doc = ast.get_docstring(ast.parse(render_model_code(spec)))
    # docs/design.md reference numbers for B0 at 224 px
    assert "5,288,548" in doc and "385,814,752" in doc and "224 px" in doc
    assert "MACs of Conv2d and Linear layers at batch 1" in doc and "FLOPs = 2 x MACs (771.6M FLOPs)" in doc
    assert spec.content_hash() in doc
    assert "ir_r4_k5_s2_e6_c192_se0.25" in doc
    assert "an ArchSpec passed in Python" in doc


def test_stage_configs_are_literal():
    code = render_model_code(load_spec("efficientnetv2-s"))
    assert (
        'kind="fused_mbconv", num_layers=4, kernel_size=3, stride=2, expand_ratio=4, out_channels=48, se_ratio=0.0'
        in code
    )
    assert "BN_EPS = 0.001" in code and "STEM_CHANNELS = 24" in code
    # only the block classes the architecture uses are written out
    assert "class FusedMBConv" in code
    assert "class FusedMBConv" not in render_model_code(load_spec("efficientnet-b0"))


@pytest.mark.parametrize(
    "spec", [small("efficientnet-b0"), small("efficientnetv2-s"), tiny_spec()], ids=["b0-64px", "v2s-64px", "tiny"]
)
def test_same_state_dict_and_eval_outputs_as_build_model(spec, tmp_path):
    reference = trained_like(spec)
    module = _generated(spec, tmp_path)
    generated = module.build()
    assert list(generated.state_dict()) == list(reference.state_dict())
    assert state_dict_shapes(generated) == state_dict_shapes(reference)
    generated.load_state_dict(reference.state_dict())
    generated.eval()
    size = spec.resolution_px
    x = torch.randn(3, spec.in_channels, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = reference(x), generated(x)
    assert expected.abs().max() > 0.5  # calibrated weights: a meaningful comparison
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)
    assert sum(p.numel() for p in generated.parameters()) == sum(p.numel() for p in reference.parameters())


def test_b0_parameter_count_matches_the_paper_table(tmp_path):
    module = _generated(load_spec("efficientnet-b0"), tmp_path)
    assert sum(p.numel() for p in module.build().parameters()) == 5_288_548


def test_training_mode_uses_drop_path_like_build_model(tmp_path):
    spec = tiny_spec(drop_path_rate=0.5, dropout=0.0)
    reference = trained_like(spec).train()
    generated = _generated(spec, tmp_path).build()
    generated.load_state_dict(reference.state_dict())
    generated.train()
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    outputs = []
    for model in (reference, generated):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(7)
            outputs.append(model(x).detach())
    torch.testing.assert_close(outputs[1], outputs[0], atol=1e-5, rtol=0)
    # block i of 7 gets 0.5·i/7; blocks without a residual (or rate 0) have none
    expected = [m.drop_prob for m in reference.modules() if isinstance(m, DropPath)]
    assert expected == [0.5 * i / 7 for i in (1, 3, 4, 6)]
    assert [m.drop_prob for m in generated.modules() if type(m).__name__ == "DropPath"] == expected


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_has_a_template_matching_nasgen_nn(activation):
    namespace = {"nn": torch.nn}
    written = eval(ACTIVATION_CODE[activation], namespace)  # noqa: S307 - our own constant
    assert type(written) is type(ACTIVATION_LAYERS[activation]())


def test_running_the_module_prints_params_and_logits_shape(tmp_path):
    spec = tiny_spec()
    (tmp_path / "model.py").write_text(render_model_code(spec), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "model.py"], cwd=tmp_path, capture_output=True, text=True, check=True, env=env
    )
    params = sum(p.numel() for p in build_model(spec).parameters())
    assert out.stdout.strip() == f"{params:,} params; logits (1, 10)"


def test_plugin_kind_cannot_be_generated():
    spec = tiny_spec()
    fake = spec.model_copy(update={"stages": (*spec.stages[:1], spec.stages[1].model_copy(update={"kind": "plain"}))})
    with pytest.raises(ExportError, match=r"stages\.1\.kind: .*plugin block kind 'plain'"):
        render_model_code(fake)
