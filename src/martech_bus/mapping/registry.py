"""The transform registry: named functions a mapping pipeline may call, and argument binding.

A transform is a plain function ``f(value, *args) -> value``. Its parameters after
the first are the arguments a mapping passes in YAML (a trailing ``_`` is dropped,
so ``with_`` is written ``with``). An optional ``prepare`` hook checks and converts
constant arguments once, when a mapping is compiled (compile a regex, resolve a
lookup table), so nothing is parsed per event. Transforms from other packages are
found through the ``martech_bus.transforms`` entry-point group, loaded once, and
only when a name is not already registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeGuard

from martech_bus.errors import ConfigError
from martech_bus.mapping.hints import did_you_mean
from martech_bus.mapping.spec import PLAIN, Const, TransformCall, Value

ENTRY_POINT_GROUP: Final = "martech_bus.transforms"

Lookups = Mapping[str, Mapping[str, Any]]
#: ``prepare(constant_args, lookups) -> constant_args``; raise ValueError/TypeError to refuse.
Prepare = Callable[[dict[str, Any], Lookups], dict[str, Any]]


class Inline(NamedTuple):
    """Code a compiled mapping may run in place of a call to the transform, per value type.

    Each case pairs an exact type (``value.__class__ is kind``; subclasses never match)
    with a Python expression written by the transform's author, never text from a
    mapping file: ``{v}`` is the value, ``{t}`` a scratch local, ``{generic}`` the
    call of the transform itself, and any other ``{name}`` is ``objects[name]``,
    bound as a local. A value of any other type goes through the transform itself.

    An expression must give exactly what the transform gives for every value of its
    type. It may raise where the transform raises: the compiled mapping then calls
    the transform on the same value and reports *its* error, so error messages and
    exception types never depend on the fast path.
    """

    cases: tuple[tuple[type, str], ...]
    objects: Mapping[str, object] = {}
    #: True when the transform never returns null or ``UNDEFINED`` (it may raise):
    #: the compiled mapping then skips the checks for them after this transform.
    defined: bool = False


#: ``inline(constant_args_in_call_order) -> Inline | None``; ``None`` means "call the transform".
Inliner = Callable[[tuple[Any, ...]], Inline | None]

_CO_VARARGS: Final = 0x04
_CO_VARKEYWORDS: Final = 0x08


@dataclass(frozen=True, slots=True)
class TransformDef:
    """A registered transform."""

    name: str
    func: Callable[..., Any]
    params: tuple[str, ...]
    defaults: tuple[Any, ...]
    varargs: bool
    constant: frozenset[str]
    prepare: Prepare | None
    #: ``(type, f)``: when the value's exact type is ``type`` and there are no arguments,
    #: compiled code calls ``f`` (e.g. ``str.lower``) inline instead of ``func``.
    fast: tuple[type, Callable[[Any], Any]] | None = None
    #: Builds an :class:`Inline` fast path from the call's arguments when every one is a
    #: constant (after ``prepare``); only for transforms that are pure functions of them.
    inline: Inliner | None = None

    @property
    def required(self) -> int:
        """How many leading parameters have no default."""
        return len(self.params) - len(self.defaults)

    def describe(self) -> str:
        """``name(arg, opt=...)`` as written in YAML."""
        shown = [_yaml_name(p) for p in self.params]
        for n in range(self.required, len(shown)):
            shown[n] += "=..."
        if self.varargs:
            shown.append("...")
        return f"{self.name}({', '.join(shown)})"


class BoundCall(NamedTuple):
    """A transform call with its arguments in call order: ``Const`` (bound once) or per-event."""

    tdef: TransformDef
    args: tuple[Value, ...]


class TransformRegistry:
    """Named transforms; ``entry_point_group=None`` turns entry-point discovery off."""

    def __init__(self, *, entry_point_group: str | None = ENTRY_POINT_GROUP) -> None:
        self._defs: dict[str, TransformDef] = {}
        self._group = entry_point_group
        self._entry_points_loaded = entry_point_group is None

    def register(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        constant: Iterable[str] = (),
        prepare: Prepare | None = None,
        replace: bool = False,
        fast: tuple[type, Callable[[Any], Any]] | None = None,
        inline: Inliner | None = None,
    ) -> TransformDef:
        """Register ``func`` under ``name``; ``constant`` names arguments that may not be paths."""
        if not name.isidentifier() or not name.islower():
            raise ValueError(f"transform names are lower-case identifiers, got {name!r}")
        tdef = _define(name, func, frozenset(constant), prepare, fast, inline)
        existing = self._defs.get(name)
        if existing is not None and existing.func is not func and not replace:
            raise ValueError(f"a transform named {name!r} is already registered")
        self._defs[name] = tdef
        return tdef

    def unregister(self, name: str) -> None:
        """Remove a transform (tests, plugins being unloaded)."""
        self._defs.pop(name, None)

    def transform(
        self, name: str, *, constant: Iterable[str] = (), prepare: Prepare | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            tdef = self.register(name, func, constant=constant, prepare=prepare)
            func.__martech_transform__ = tdef  # type: ignore[attr-defined]
            return func

        return decorate

    def get(self, name: str) -> TransformDef | None:
        """The transform called ``name``; entry points are loaded on the first miss."""
        tdef = self._defs.get(name)
        if tdef is None and not self._entry_points_loaded:
            self.load_entry_points()
            tdef = self._defs.get(name)
        return tdef

    def names(self) -> list[str]:
        """Every registered name, entry points included."""
        if not self._entry_points_loaded:
            self.load_entry_points()
        return sorted(self._defs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def load_entry_points(self) -> None:
        """Import every ``martech_bus.transforms`` entry point (once per registry)."""
        if self._group is None:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points  # slow to import: only when needed

        for point in entry_points(group=self._group):
            try:
                obj = point.load()
                if not callable(obj):
                    raise TypeError("it is not a function")
                declared = getattr(obj, "__martech_transform__", None)
                if isinstance(declared, TransformDef):
                    self.register(
                        point.name, obj, constant=declared.constant, prepare=declared.prepare
                    )
                else:
                    self.register(point.name, obj)
            except Exception as exc:  # a broken plugin: say which one, whatever went wrong
                raise ConfigError(
                    f"cannot use transform entry point {point.name!r} = {point.value!r} "
                    f"(group {self._group!r}): {exc}"
                ) from exc


def _define(
    name: str,
    func: Callable[..., Any],
    constant: frozenset[str],
    prepare: Prepare | None,
    fast: tuple[type, Callable[[Any], Any]] | None,
    inline: Inliner | None = None,
) -> TransformDef:
    code = getattr(func, "__code__", None)
    if code is None:
        raise TypeError(f"transform {name!r} must be a Python function (def or lambda)")
    if code.co_kwonlyargcount or code.co_flags & _CO_VARKEYWORDS or code.co_argcount < 1:
        raise TypeError(
            f"transform {name!r} must look like f(value, arg, ..., opt=default, *rest): "
            "no keyword-only or **kwargs parameters"
        )
    params = tuple(code.co_varnames[1 : code.co_argcount])
    defaults = tuple(getattr(func, "__defaults__", None) or ())[-len(params) :] if params else ()
    unknown = constant - set(params)
    if unknown:
        raise ValueError(f"transform {name!r} has no parameter(s) {sorted(unknown)}")
    if fast is not None and params:
        raise ValueError(
            f"transform {name!r}: a fast path is only for transforms without arguments"
        )
    varargs = bool(code.co_flags & _CO_VARARGS)
    return TransformDef(name, func, params, defaults, varargs, constant, prepare, fast, inline)


def _yaml_name(param: str) -> str:
    return param[:-1] if param.endswith("_") else param


def is_constant(value: Value) -> TypeGuard[Const]:
    """A constant known at compile time: a ``Const`` without modifiers."""
    return isinstance(value, Const) and value.mods == PLAIN


def bind(
    tdef: TransformDef, call: TransformCall, lookups: Lookups, directive_keys: Iterable[str] = ()
) -> BoundCall:
    """Match a call's YAML arguments to ``tdef``'s parameters; ``ValueError`` says what is wrong."""
    params = tdef.params
    by_yaml = {_yaml_name(p): p for p in params}
    if len(call.args) > len(params) and not tdef.varargs:
        raise ValueError(f"{tdef.describe()} takes {len(params)} argument(s), got {len(call.args)}")
    given: dict[str, Value] = dict(zip(params, call.args, strict=False))
    extra = call.args[len(params) :]
    for key, value in call.kwargs:
        param = by_yaml.get(key)
        if param is None:
            hint = did_you_mean(key, by_yaml)
            if not hint and key in set(directive_keys):
                hint = (
                    f"; to pass a directive as the only argument, write it in a list: "
                    f"{{{tdef.name}: [{{{key}: ...}}]}}"
                )
            raise ValueError(f"{tdef.describe()} has no argument {key!r}{hint}")
        if param in given:
            raise ValueError(f"{tdef.describe()} got argument {key!r} twice")
        given[param] = value
    missing = [_yaml_name(p) for p in params[: tdef.required] if p not in given]
    if missing:
        raise ValueError(f"{tdef.describe()} needs argument(s) {', '.join(map(repr, missing))}")
    for param, value in given.items():
        if param in tdef.constant and not is_constant(value):
            raise ValueError(
                f"argument {_yaml_name(param)!r} of {tdef.name!r} must be a constant, "
                "not a directive"
            )
    constants: dict[str, Any] = {}
    for n, param in enumerate(params):
        arg = given.get(param)
        if arg is None:
            constants[param] = tdef.defaults[n - tdef.required]
        elif is_constant(arg):
            constants[param] = arg.value
    if tdef.prepare is not None:
        try:
            constants = tdef.prepare(constants, lookups)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{tdef.name}: {exc}") from None
    # every parameter is passed, so defaults converted by prepare() take effect too
    ordered: list[Value] = [
        Const(constants[param]) if param in constants else given[param] for param in params
    ]
    ordered.extend(extra)
    return BoundCall(tdef, tuple(ordered))
