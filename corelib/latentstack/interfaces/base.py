"""What every role implementation shares: a name, a frozen config, and how to build one."""

from __future__ import annotations

import contextlib
import json
import numbers
import typing
from abc import ABC
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self, TypeVar

import attrs

from latentstack.errors import ConfigError

C = TypeVar("C")


class _Checked(type):
    """Configs are checked however they are made: ``GenerationConfig(max_new_tokens="3")`` from Python is 3, as
    ``-o max_new_tokens=3`` is, and an invalid option is a one-line ConfigError, never attrs' bare ValueError."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return _make(cls, args, kwargs, owner=cls.__name__)


@attrs.frozen(kw_only=True)
class Config(metaclass=_Checked):
    """Base of every plugin's options. Subclasses add validated ``attrs.field``s."""

    def to_dict(self) -> dict[str, Any]:
        """The options as plain JSON-ready values (for manifests)."""
        return attrs.asdict(self)


TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def names(value: str | Iterable[str]) -> tuple[str, ...]:
    """A converter for options that list names (LoRA targets): a list as it is, a str as its comma-separated
    names (``-o targets=q_proj,v_proj`` gives one str; ``tuple("q_proj")`` would be its letters)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(value)


def _as_bool(value: object, key: str, owner: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    msg = f"{owner}: option {key!r} takes true or false, got {value!r}"
    raise ConfigError(msg)


def _as_number(value: object, kind: type, key: str, owner: str) -> int | float:
    number: int | float | None = None
    if isinstance(value, str):
        try:
            number = int(value) if kind is int else float(value)
        except ValueError:
            number = None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):  # NumPy's numbers too, read as Python's
        number = int(value) if isinstance(value, numbers.Integral) else float(value)
    if number is None or (kind is int and not isinstance(number, int)):
        what = "a whole number" if kind is int else "a number"
        msg = f"{owner}: option {key!r} takes {what}, got {value!r}"
        raise ConfigError(msg)
    return float(number) if kind is float else number


def _coerce(value: object, hint: object, key: str, owner: str) -> object:
    """``value`` checked against a plain bool/int/float/dict annotation (or that or None); others pass as they are."""
    args = typing.get_args(hint)
    if args and type(None) in args and len(args) == 2:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    if hint is bool:
        return _as_bool(value, key, owner)
    if hint in (int, float):
        return _as_number(value, hint, key, owner)
    if typing.get_origin(hint) is dict or hint is dict:
        return _as_mapping(value, key, owner)
    return value


def _as_mapping(value: object, key: str, owner: str) -> dict[Any, Any]:
    """An options object (another component's options), or its JSON text: ``dict("x")`` fails on its letters."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, Mapping):
        msg = f'{owner}: option {key!r} takes an object such as {{"code": 16}} (JSON on the command line), got {value!r:.60}'
        raise ConfigError(msg)
    return dict(value)


_HINTS: dict[type[Any], dict[str, Any] | None] = {}


def _hints(config_cls: type[Any]) -> dict[str, Any] | None:
    """The class's resolved annotations (once per class); None where one cannot be resolved."""
    if config_cls not in _HINTS:
        try:
            _HINTS[config_cls] = typing.get_type_hints(config_cls)
        except (NameError, TypeError):  # an annotation that cannot be resolved: leave the values to the validators
            _HINTS[config_cls] = None
    return _HINTS[config_cls]


def _typed(config_cls: type[Any], options: dict[str, Any], owner: str) -> dict[str, Any]:
    hints = _hints(config_cls)
    if hints is None:
        return options
    fields = {f.alias or f.name: f.name for f in attrs.fields(config_cls)}
    return {k: _coerce(v, hints.get(fields[k]), k, owner) for k, v in options.items()}


def build_config(config_cls: type[C], options: dict[str, Any], *, owner: str) -> C:
    """Build ``config_cls(**options)``, turning unknown, mistyped or invalid options into a ConfigError.

    Options annotated bool, int or float are checked first: ``"false"`` (as ``-o KEY=VALUE``
    gives it) is False, never truthy; a bool is not a number; 3.7 is not a whole number.
    """
    return _make(config_cls, (), options, owner)


def _make(config_cls: type[Any], args: tuple[Any, ...], options: dict[str, Any], owner: str) -> Any:
    known = {f.alias or f.name for f in attrs.fields(config_cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        msg = (
            f"{owner} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(sorted(known)) or '(none)'}"
        )
        raise ConfigError(msg)
    try:
        return type.__call__(config_cls, *args, **_typed(config_cls, options, owner))
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # attrs' validators give (message, attribute, ...): the message only
        reason = exc.args[0] if len(exc.args) > 1 and isinstance(exc.args[0], str) else exc
        msg = f"{owner}: invalid option: {reason}"
        raise ConfigError(msg) from exc


BaseConfig = Config  # the name ``Config`` is taken inside Component by the class attribute


class Component(ABC):
    """Base of the five roles: a registered ``name`` and a ``Config`` class.

    An abstract base: a subclass that leaves an abstract member unwritten cannot be
    instantiated, and the registry refuses to register it.

    Build one with ``Cls.from_options(**options)`` or ``Cls(Cls.Config(...))``.
    """

    name: ClassVar[str] = ""
    role: ClassVar[str] = ""
    Config: ClassVar[type[BaseConfig]] = BaseConfig

    def __init__(self, config: BaseConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @classmethod
    def from_options(cls, **options: Any) -> Self:
        """Build the component from keyword options validated by its Config class."""
        return cls(build_config(cls.Config, options, owner=f"{cls.role} {cls.name!r}"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
