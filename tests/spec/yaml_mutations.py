"""YAML text mutations shared by the fuzz test (hypothesis) and ``benchmarks/fuzz_yaml.py`` (random).

Each mutation takes the text and a ``random.Random``-like chooser and returns new text: values replaced by
huge, negative or odd-typed ones, keys duplicated or deleted, deep nesting, alias bombs, control bytes.
"""

from __future__ import annotations

import random
import re

ODD_VALUES = [
    "1000000000", "1" + "0" * 60, "-1", "-1000000000", "0", ".inf", "-.inf", ".nan", "1e400", "true", "no", "yes",
    "on", "~", "null", "010", "3:44", "0xE0", "0o17", "1_000", "0b11", "2.5", "'7'", '"x"', "[]", "{}", "[1, 2, 3]",
    "{low: 1, high: 1000000000}", "{low: 8, high: 10000000}", "{low: 5, high: 3}", "{low: 1, high: 9, step: 0}",
    "!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "!!timestamp 2001-12-14", "!!set {a, b}",
    "*undefined_alias", "&anchor 3", "0.99", "1e-300", "9" * 5000, "x" * 10000, "[" * 50 + "]" * 50,
]


def _value_lines(text: str) -> list[int]:
    lines = text.splitlines()
    return [i for i, line in enumerate(lines) if re.match(r"^\s*-?\s*[a-z_]+:\s*\S", line)]


def replace_value(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    candidates = _value_lines(text)
    if not candidates:
        return text + f"stem: {rng.choice(ODD_VALUES)}\n"
    i = rng.choice(candidates)
    key = lines[i].split(":", 1)[0]
    lines[i] = f"{key}: {rng.choice(ODD_VALUES)}"
    return "\n".join(lines) + "\n"


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    candidates = _value_lines(text)
    if not candidates:
        return text + text
    i = rng.choice(candidates)
    lines.insert(i + 1, lines[i])
    return "\n".join(lines) + "\n"


def odd_key(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    candidates = _value_lines(text)
    if not candidates:
        return text + "3: 1\n"
    i = rng.choice(candidates)
    indent = re.match(r"^(\s*-?\s*)", lines[i]).group(1)
    value = lines[i].split(":", 1)[1]
    key = rng.choice(["3", "no", "~", "[a]", "'kernel_size'", "kernal_size", "<<", "? x", "k" * 300])
    lines[i] = f"{indent}{key}:{value}"
    return "\n".join(lines) + "\n"


def delete_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines() or [""]
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines) + "\n"


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = rng.choice([20, 100, 1000, 5000])
    if rng.random() < 0.5:
        nested = "{a: " * depth + "1" + "}" * depth
    else:
        nested = "[" * depth + "]" * depth
    return text + f"extra_nested: {nested}\n"


def alias_bomb(text: str, rng: random.Random) -> str:
    levels = rng.choice([3, 6, 9, 12])
    lines = ['x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    bomb = "\n".join(lines) + "\n"
    if rng.random() < 0.5:
        return bomb + text
    # the bomb inside a real field
    return bomb + text.replace("head_channels:", f"head_channels: *x{levels}\nunused_head_channels:", 1)


def control_bytes(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(["\x00", "\x07", "\x1b", "\ufeff", "\t", "\r", "\u2028", "é"]) + text[at:]


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text))] if text else text


def flip_indent(text: str, rng: random.Random) -> str:
    lines = text.splitlines() or [""]
    i = rng.randrange(len(lines))
    lines[i] = ("   " + lines[i]) if rng.random() < 0.5 else lines[i].lstrip()
    return "\n".join(lines) + "\n"


MUTATIONS = [replace_value, odd_key, duplicate_line, delete_line, deep_nesting, alias_bomb, control_bytes, truncate, flip_indent]


def mutate(text: str, rng: random.Random, count: int) -> str:
    """Apply ``count`` mutations drawn with ``rng``."""
    for _ in range(count):
        text = rng.choice(MUTATIONS)(text, rng)
        if not text.strip():
            text = "a: 1\n"
    return text
