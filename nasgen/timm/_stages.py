"""From the blocks read off a timm model to nasgen stages: expansion ratios, SE ratio and rule, residuals.

A timm stage (``model.blocks[i]``) becomes one nasgen stage, so that the state-dict names ``blocks.{i}.{j}``
and ``stages.{i}.{j}`` correspond (:func:`nasgen.nn.timm_key_map`). Its blocks must share kind, kernel and
output width; their hidden widths must be one expansion ratio of their inputs (or, timm's ``fc``, of one other
channel count); their SE widths one ratio under one rounding rule for the whole network.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from nasgen.errors import SpecError
from nasgen.spec import SE_ROUNDINGS, se_channels
from nasgen.timm._read import TimmBlock

__all__ = ["StageDraft", "draft_stage", "se_settings"]


class StageDraft:
    """A nasgen stage being read: the fields known from its blocks, SE ratio still open."""

    def __init__(self, index: int, blocks: list[TimmBlock]) -> None:
        self.index, self.blocks = index, blocks
        self.path = f"blocks.{index}"
        self.fields: dict[str, Any] = {}
        self.bases: list[int] = []  # per block: the width the hidden and SE widths are taken from

    def error(self, message: str) -> SpecError:
        return SpecError(f"{message}, which one nasgen stage cannot express", path=self.path)


def _common(draft: StageDraft, attribute: str) -> Any:
    values = {getattr(block, attribute) for block in draft.blocks}
    if len(values) != 1:
        raise draft.error(f"its blocks differ in {attribute} ({sorted(values)})")
    return values.pop()


def _ratio(hidden: int, width: int) -> int | None:
    return hidden // width if hidden % width == 0 else None


def _expansion(draft: StageDraft) -> None:
    """``expand_ratio`` (+ ``expand_in_channels`` / ``always_project``) that give every block's hidden width."""
    blocks, fields = draft.blocks, draft.fields
    hidden = [block.hidden for block in blocks]
    ins = [block.in_channels for block in blocks]
    if hidden[0] is None:  # ds or cn: no hidden width
        fields["expand_ratio"], draft.bases = 1, ins
        return
    ratios = {_ratio(h, c) for h, c in zip(hidden, ins, strict=True)}
    if len(ratios) == 1 and None not in ratios:
        fields["expand_ratio"], draft.bases = ratios.pop(), ins
    elif fields["kind"] == "fused_mbconv" and len(set(hidden)) == 1 and _ratio(hidden[0], fields["out_channels"]):
        # timm's fc (force_in_chs): EfficientNet-EdgeTPU expands its first stage from its output width
        fields["expand_ratio"] = _ratio(hidden[0], fields["out_channels"])
        fields["expand_in_channels"] = fields["out_channels"]
        draft.bases = [fields["out_channels"]] * len(blocks)
    else:
        widths = ", ".join(f"{h} from {c}" for h, c in zip(hidden, ins, strict=True))
        raise draft.error(f"hidden widths ({widths}) that are no one expansion ratio of the inputs (pruned widths?)")
    if fields["kind"] == "fused_mbconv" and fields["expand_ratio"] == 1:
        fields["always_project"] = True  # timm's EdgeResidual at expansion 1 keeps its 1x1 projection


def _residual(draft: StageDraft) -> None:
    possible = [block.has_skip for block in draft.blocks if block.stride == 1 and block.in_channels == block.out_channels]
    if possible and not any(possible):
        draft.fields["residual"] = False  # timm's noskip (or a cn block without skip)
    elif not all(possible):
        raise draft.error("some blocks add their residual and others of the same shape do not")
    if any(block.has_skip and (block.stride != 1 or block.in_channels != block.out_channels) for block in draft.blocks):
        raise draft.error("a residual across a change of shape")


def draft_stage(index: int, blocks: list[TimmBlock]) -> StageDraft:
    """The stage of timm's ``blocks[index]`` without its SE ratio (see :func:`se_settings`).

    Raises:
        SpecError: The blocks do not form one nasgen stage.
    """
    draft = StageDraft(index, blocks)
    if any(block.stride != 1 for block in blocks[1:]):
        raise draft.error("a stride after its first block")
    fields = draft.fields
    fields.update(kind=_common(draft, "kind"), num_layers=len(blocks), kernel_size=_common(draft, "kernel_size"),
                  stride=blocks[0].stride, out_channels=_common(draft, "out_channels"))  # fmt: skip
    if any(block.in_channels != fields["out_channels"] for block in blocks[1:]):
        raise draft.error("blocks after the first whose input is not the stage's width")
    _expansion(draft)
    _residual(draft)
    return draft


def _ratio_candidates(draft: StageDraft) -> list[float]:
    """SE ratios that might give the stage's squeeze widths, simplest fraction first (1/4 before 29/116)."""
    fractions = {Fraction(block.squeeze, base).limit_denominator(256)
                 for block, base in zip(draft.blocks, draft.bases, strict=True)}  # fmt: skip
    return [float(f) for f in sorted(fractions, key=lambda f: (f.denominator, f)) if 0 < f <= 1]


def _stage_ratio(draft: StageDraft, rounding: str) -> float | None:
    e = draft.fields["expand_ratio"]
    for ratio in _ratio_candidates(draft):
        if all(se_channels(base, ratio, e, rounding) == block.squeeze
               for block, base in zip(draft.blocks, draft.bases, strict=True)):  # fmt: skip
            return ratio
    return None


def se_settings(drafts: list[StageDraft]) -> str:
    """Set every stage's ``se_ratio`` and return the network's ``se_rounding`` (nasgen's ``"floor"`` whenever
    it gives timm's widths, else ``"round"``).

    Raises:
        SpecError: A stage whose SE widths no ratio gives under one rule for the whole network, or a stage
            with SE on some blocks only.
    """
    with_se = []
    for draft in drafts:
        present = {block.squeeze > 0 for block in draft.blocks}
        if len(present) > 1:
            raise draft.error("SE on some of its blocks only")
        if present == {True}:
            with_se.append(draft)
    for rounding in SE_ROUNDINGS:
        ratios = [_stage_ratio(draft, rounding) for draft in with_se]
        if None not in ratios:
            for draft, ratio in zip(with_se, ratios, strict=True):
                draft.fields["se_ratio"] = ratio
            return rounding
    draft = next(d for d in with_se if _stage_ratio(d, "round") is None)
    widths = ", ".join(str(block.squeeze) for block in draft.blocks)
    raise draft.error(f"SE widths {widths} that no SE ratio gives (by int or round) for inputs {draft.bases}")
