"""What every role implementation shares: a name, a frozen config, and how to build one."""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar, Self

import attrs

from latentstack.errors import ConfigError


@attrs.frozen(kw_only=True)
class Config:
    """Base of every plugin's options. Subclasses add validated ``attrs.field``s."""

    def to_dict(self) -> dict[str, Any]:
        """The options as plain JSON-ready values (for manifests)."""
        return attrs.asdict(self)


def build_config(config_cls: type[Config], options: dict[str, Any], *, owner: str) -> Config:
    """Build ``config_cls(**options)``, turning unknown or invalid options into a ConfigError."""
    known = {f.alias or f.name for f in attrs.fields(config_cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        msg = (
            f"{owner} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(sorted(known)) or '(none)'}"
        )
        raise ConfigError(msg)
    try:
        return config_cls(**options)
    except (TypeError, ValueError) as exc:
        msg = f"{owner}: invalid option: {exc}"
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
