"""The base of nasgen's settings models: frozen, typo-proof, and every construction error a ``NasgenError``."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from nasgen.errors import NasgenError

__all__ = ["ConfigModel", "merge_settings", "parsed_already"]

C = TypeVar("C", bound="ConfigModel")

# Fields whose values replace() passes on unchanged. (Not pydantic's validation context: a model with its own
# __init__ is validated through that __init__, which drops the context.)
_UNCHANGED: ContextVar[frozenset[str]] = ContextVar("_UNCHANGED", default=frozenset())


def parsed_already(info: Any) -> bool:
    """In a ``mode="before"`` field validator: the value is the field's own stored value (``replace`` of
    another field), already parsed, so a unit parser must not read it again."""
    return info.field_name in _UNCHANGED.get()


class ConfigModel(BaseModel):
    """A frozen settings model (``extra="forbid"``: a misspelled setting is an error, not silently dropped).

    A bad value raises a :class:`~nasgen.errors.NasgenError`: the error a field's validator raised on purpose
    (e.g. the :class:`~nasgen.errors.BudgetError` of ``budget="400Q"``), else a
    :class:`~nasgen.errors.SpecError` naming the field (``lr: must be greater than 0, got -1.0``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _nasgen_error(exc, data) from None

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], *, file: str | None = None) -> C:
        """Validate a mapping (e.g. from YAML or CLI options).

        Raises:
            SpecError: An unknown field or a bad value, naming the field (and ``file``) and echoing the value.
        """
        from nasgen.spec import validate_document

        return validate_document(cls, data, file=file)

    def replace(self: C, **changes: Any) -> C:
        """Return a validated copy with ``changes`` applied.

        Raises:
            SpecError: A changed field is unknown or invalid (or the error its validator raises).
        """
        # the unchanged values were parsed already (a time stored in ms is not re-read as "5", which has no unit)
        token = _UNCHANGED.set(frozenset(type(self).model_fields) - set(changes))
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise _nasgen_error(exc, changes) from None
        finally:
            _UNCHANGED.reset(token)

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The names of the settings (the fields), in declaration order."""
        return tuple(cls.model_fields)


def _nasgen_error(exc: ValidationError, data: Any) -> NasgenError:
    # A validator that raised a NasgenError subclass of ValueError (BudgetError from the unit parsers) was
    # wrapped by pydantic; give the caller that error, unchanged.
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, NasgenError):
            return cause
    from nasgen.spec import spec_error_from_validation

    return spec_error_from_validation(exc, data)


def merge_settings(model: type[C], config: C | None, settings: Mapping[str, Any], *, caller: str) -> C:
    """``config`` (default: ``model()`` built from ``settings`` alone) with the keyword ``settings`` applied.

    This is how ``search(..., n_trials=5)`` and ``train(..., lr=1e-3)`` keep working next to ``config=``: a
    keyword names a field of ``model`` and overrides it.

    Raises:
        TypeError: A keyword is not a field of ``model`` (as Python says for an unknown keyword argument).
        SpecError: A value is invalid (or the error the field's validator raises, e.g. ``BudgetError``).
    """
    unknown = [name for name in settings if name not in model.model_fields]
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    if config is None:
        return model(**settings)
    if not isinstance(config, model):
        raise TypeError(f"{caller}(): config must be a {model.__name__}, got {type(config).__name__}")
    return config.replace(**settings) if settings else config
