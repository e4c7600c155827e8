"""``MappingSpec`` -> a plain Python function, generated once as source and compiled.

Why generated source: a mapping runs once per event, and straight-line code with
every path step, constant and transform bound to a local name runs close to a
hand-written function (closures walking the spec reach about half that speed).

Safety: nothing from the YAML file is ever written into the generated source. The
source only contains identifiers this module invents (``v3``, ``p5``, ``k7``);
constants, keys, regexes and transform functions are passed as arguments of an
outer factory function, and the code runs with empty ``__builtins__``.

Errors: one ``try`` wraps the whole body. A step counter ``s`` (a local integer
store, nearly free) tells the handler which field or transform was running, so a
failure becomes a ``MappingError`` naming the output field, the transform, the value's
type, the mapping file and version, and the event id.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from martech_bus.errors import Location, MappingError, MartechBusError
from martech_bus.mapping.paths import STAR, PathExpr, Step, get_index, get_key, walk
from martech_bus.mapping.registry import BoundCall, Inline, TransformRegistry, bind, is_constant
from martech_bus.mapping.spec import (
    Coalesce,
    Condition,
    Conditional,
    Const,
    Each,
    ListValue,
    MappingSpec,
    Modifiers,
    ObjectValue,
    PathValue,
    Pos,
    Template,
    TransformCall,
    Value,
)
from martech_bus.mapping.values import (
    UNDEFINED,
    fresh_copy,
    is_blank,
    render,
    same_value,
    type_name,
)

_IMMUTABLE: Final = (str, int, float, bool, type(None))
_SERIAL: Final = itertools.count(1)


class CompiledMapping:
    """A compiled mapping: call it with an event (a mapping) to get the vendor payload."""

    __slots__ = ("apply", "source", "spec")

    def __init__(
        self, spec: MappingSpec, apply: Callable[[Mapping[str, Any]], dict[str, Any]], source: str
    ) -> None:
        self.spec = spec
        #: The generated function itself; call it directly in the hottest loops.
        self.apply = apply
        #: The generated Python source, for debugging and review.
        self.source = source

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return self.apply(event)

    def accepts(self, event_type: str, schema_version: int) -> bool:
        """True when the mapping is written for that event type and schema version."""
        return self.spec.accepts(event_type, schema_version)

    def __repr__(self) -> str:
        spec = self.spec
        return f"<CompiledMapping {spec.file or spec.event} v{spec.mapping_version}>"


def compile_mapping(
    spec: MappingSpec, *, registry: TransformRegistry | None = None, fast_paths: bool = True
) -> CompiledMapping:
    """Turn a spec into a callable once; applying it does no parsing and no spec walking.

    ``fast_paths=False`` leaves out the type-specialised code (inline transforms, wildcard
    loops, inline blank tests): every value then goes through the generic helpers. The
    result is the same either way; it is there to check exactly that, and for debugging.
    """
    if registry is None:
        from martech_bus.mapping.transforms import REGISTRY

        registry = REGISTRY
    gen = _Generator(spec, registry, fast_paths=fast_paths)
    return gen.build()


# -- runtime pieces the generated code calls -----------------------------------------------


class _MissingError(Exception):
    """Raised by generated code for a missing required value; carries the step number."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def _is_in(value: Any, options: tuple[Any, ...]) -> bool:
    return any(same_value(value, option) for option in options)


def _not_a_list(value: Any) -> TypeError:
    return TypeError(f"'each' expects a list, got {type_name(value)}")


class _Out(NamedTuple):
    """An output field path; ``[*]`` marks each enclosing ``each`` item (filled in on error)."""

    parts: tuple[str, ...] = ("",)
    index_vars: tuple[str, ...] = ()

    def key(self, name: str) -> _Out:
        last = self.parts[-1]
        return _Out((*self.parts[:-1], f"{last}.{name}" if last else name), self.index_vars)

    def position(self, n: int) -> _Out:
        return _Out((*self.parts[:-1], f"{self.parts[-1]}[{n}]"), self.index_vars)

    def item(self, index_var: str) -> _Out:
        return _Out((*self.parts, ""), (*self.index_vars, index_var))

    def text(self, indexes: tuple[object, ...] | None = None) -> str:
        marks = [f"[{i}]" for i in indexes] if indexes else ["[*]"] * len(self.index_vars)
        out = self.parts[0]
        for mark, part in zip(marks, self.parts[1:], strict=True):
            out += mark + (f".{part}" if part and not part.startswith("[") else part)
        return out


class _Generic(NamedTuple):
    """An inline fast path's transform, and the generated line the fast path is on."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    line: int


class _Step(NamedTuple):
    """What the generated code was doing at step ``s``."""

    out: _Out
    pos: Pos
    transform: str | None = None
    value_var: str | None = None
    generic: _Generic | None = None


def _make_fail(spec: MappingSpec, steps: list[_Step]) -> Callable[..., None]:
    """The handler generated code calls from its one ``except``: raise a located MappingError."""

    def fail(step_no: int, exc: Exception, event: Any, local_vars: dict[str, Any]) -> None:
        missing = isinstance(exc, _MissingError)
        step = steps[exc.step] if isinstance(exc, _MissingError) else steps[step_no]
        value = local_vars.get(step.value_var, UNDEFINED) if step.value_var else UNDEFINED
        if step.generic is not None and not missing:
            exc = _generic_error(step.generic, exc, value)
        if missing:
            message = f"required value is {'null' if value is None else 'missing'}"
        elif step.transform is not None:
            message = (
                f"transform {step.transform!r} failed on a value of type {type_name(value)}: "
                + _reason(exc)
            )
        else:
            message = _reason(exc)
        indexes = tuple(local_vars.get(name, "?") for name in step.out.index_vars)
        location = Location(
            file=spec.file,
            line=step.pos.line,
            column=step.pos.column,
            version=spec.mapping_version,
            event_id=_event_id(event),
            path=step.out.text(indexes) or None,
        )
        raise MappingError(message, location=location) from (None if missing else exc)

    return fail


def _generic_error(generic: _Generic, exc: Exception, value: Any) -> Exception:
    """The transform's own error when its inline fast path raised (the value is unchanged then).

    A fast path may fail where the transform fails, not always with the same exception;
    calling the transform on the same value gives the error users would see without it.
    """
    trace = exc.__traceback__
    if trace is None or trace.tb_lineno != generic.line:
        return exc  # raised elsewhere in the same step
    try:
        generic.func(value, *generic.args)
    except Exception as own:
        return own
    return exc  # the transform accepts what its fast path refused: report the fast path


def _reason(exc: Exception) -> str:
    """TypeError/ValueError messages are written for users; anything else also shows its class."""
    if isinstance(exc, MartechBusError):
        return exc.message
    if isinstance(exc, TypeError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _event_id(event: Any) -> str | None:
    try:
        found = event.get("event_id") if isinstance(event, Mapping) else None
    except Exception:  # a hostile mapping type must not hide the real error
        return None
    return found if isinstance(found, str) else None


_HELPERS: Final[Mapping[str, object]] = {
    "U": UNDEFINED,
    "D": dict,
    "S": str,
    "L": list,
    "T": tuple,
    "key_": get_key,
    "idx_": get_index,
    "walk_": walk,
    "render_": render,
    "blank_": is_blank,
    "same_": same_value,
    "isin_": _is_in,
    "copy_": fresh_copy,
    "not_list_": _not_a_list,
    "Missing_": _MissingError,
    "enumerate_": enumerate,
    "locals_": locals,
    "E_": Exception,
}


# -- code generation ---------------------------------------------------------------------------


class _Scope:
    """Where paths are read from: the event (``ev``) or the current ``each`` item."""

    __slots__ = ("base", "cache")

    def __init__(self, base: str) -> None:
        self.base = base
        #: path prefix -> the local holding its value
        self.cache: dict[tuple[Step, ...], str] = {}


#: Generated source line of the first body line (``def factory_``, ``def apply_``, ``s = 0``,
#: ``try:`` come first).
_FIRST_BODY_LINE: Final = 5


class _Generator:
    def __init__(
        self, spec: MappingSpec, registry: TransformRegistry, *, fast_paths: bool = True
    ) -> None:
        self.spec = spec
        self.registry = registry
        self.fast_paths = fast_paths
        self.lines: list[str] = []
        self.depth = 3
        self.steps: list[_Step] = [_Step(_Out(), Pos())]  # step 0: reading the event
        # fail_ keeps a reference to the list, which code generation goes on filling
        self.bound: dict[str, object] = {**_HELPERS, "fail_": _make_fail(spec, self.steps)}
        self.const_names: dict[tuple[type, object], str] = {}
        self.counter = itertools.count()
        self.root = _Scope("ev")

    # -- plumbing ------------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def local(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def const(self, value: object) -> str:
        """A generated name bound to ``value`` (never its text) in the factory's arguments."""
        if isinstance(value, float):
            key: tuple[type, object] = (float, repr(value))  # keeps -0.0 apart from 0.0
        elif isinstance(value, _IMMUTABLE):
            key = (type(value), value)
        else:
            key = (object, id(value))
        name = self.const_names.get(key)
        if name is None:
            name = self.const_names[key] = self.local("k")
            self.bound[name] = value
        return name

    def step(
        self,
        out: _Out,
        pos: Pos,
        transform: str | None = None,
        value_var: str | None = None,
        generic: _Generic | None = None,
    ) -> int:
        self.steps.append(_Step(out, pos, transform, value_var, generic))
        return len(self.steps) - 1

    def next_line(self) -> int:
        """The generated source line the next ``emit`` writes."""
        return _FIRST_BODY_LINE + len(self.lines)

    def build(self) -> CompiledMapping:
        self.hoist(self.root, _scope_paths(self.spec.output, root=True))
        result = self.value(self.spec.output, self.root, _Out())
        self.emit(f"return {result.name}")
        params = ", ".join(self.bound)
        body = "\n".join(self.lines)
        source = (
            f"def factory_({params}):\n"
            "    def apply_(ev):\n"
            "        s = 0\n"
            "        try:\n"
            f"{body}\n"
            "        except E_ as e:\n"
            "            fail_(s, e, ev, locals_())\n"
            "    return apply_\n"
        )
        filename = f"<martech_bus mapping #{next(_SERIAL)}>"
        namespace: dict[str, Any] = {}
        exec(compile(source, filename, "exec"), {"__builtins__": {}}, namespace)
        apply = namespace["factory_"](**self.bound)
        _remember_source(filename, source)
        # A subclass whose __call__ *is* the generated function: calling the mapping then
        # costs no extra Python frame (a forwarding method would add ~0.1 us per event).
        fast = type(
            "CompiledMapping",
            (CompiledMapping,),
            {"__slots__": (), "__call__": staticmethod(apply)},
        )
        compiled: CompiledMapping = fast(self.spec, apply, source)
        return compiled

    # -- paths ---------------------------------------------------------------------------------

    def hoist(self, scope: _Scope, paths: Iterator[PathExpr]) -> None:
        """Read every path prefix used in a scope once, at the top of the scope."""
        children: dict[tuple[Step, ...], list[tuple[Step, ...]]] = {}
        for path in paths:
            head = _before_star(path.steps)
            for n in range(1, len(head) + 1):
                siblings = children.setdefault(head[: n - 1], [])
                if head[:n] not in siblings and head[:n] not in scope.cache:
                    siblings.append(head[:n])
        self.hoist_children(scope, (), children)

    def hoist_children(
        self,
        scope: _Scope,
        prefix: tuple[Step, ...],
        children: dict[tuple[Step, ...], list[tuple[Step, ...]]],
    ) -> None:
        kids = children.get(prefix, [])
        parent = scope.cache[prefix] if prefix else scope.base
        for kid in kids:
            scope.cache[kid] = self.local("p")
        keys = [(scope.cache[kid], self.const(kid[-1])) for kid in kids if isinstance(kid[-1], str)]
        if len(keys) == 1:
            var, ref = keys[0]
            self.emit(
                f"{var} = {parent}.get({ref}, U) if {parent}.__class__ is D else key_({parent}, {ref})"
            )
        elif keys:  # one type check for all keys read from the same object
            self.emit(f"if {parent}.__class__ is D:")
            self.lines.extend(
                f"{'    ' * (self.depth + 1)}{var} = {parent}.get({ref}, U)" for var, ref in keys
            )
            self.emit("else:")
            self.lines.extend(
                f"{'    ' * (self.depth + 1)}{var} = key_({parent}, {ref})" for var, ref in keys
            )
        for kid in kids:
            if not isinstance(kid[-1], str):
                self.emit(f"{scope.cache[kid]} = idx_({parent}, {self.const(kid[-1])})")
        for kid in kids:
            self.hoist_children(scope, kid, children)

    def read(self, path: PathExpr, scope: _Scope, out: _Out, pos: Pos) -> str:
        target = self.root if path.anchor == "root" else scope
        head = _before_star(path.steps)
        var = target.cache[head] if head else target.base
        if len(head) == len(path.steps):
            return var
        rest = path.steps[len(head) :]
        result = self.local("w")
        self.emit(f"s = {self.step(out, pos)}")
        if self.fast_paths and STAR not in rest[1:]:
            self.spread(var, rest, result)
        else:
            self.emit(f"{result} = walk_({var}, {self.const(rest)})")
        return result

    def spread(self, var: str, rest: tuple[Step, ...], result: str) -> None:
        """``walk`` for ``[*]`` and steps without another ``[*]``, as a loop over a list."""
        item, found = self.local("it"), self.local("x")
        self.emit(f"if {var}.__class__ is L or {var}.__class__ is T:")
        self.emit(f"    {result} = []")
        self.emit(f"    for {item} in {var}:")
        self.depth += 2
        current = item
        for step in rest[1:]:
            if isinstance(step, str):
                ref = self.const(step)
                self.emit(
                    f"{found} = {current}.get({ref}, U) if {current}.__class__ is D "
                    f"else key_({current}, {ref})"
                )
            else:  # an index: STAR is not in rest[1:]
                self.emit(f"{found} = idx_({current}, {self.const(step)})")
            current = found
        # walk() stops at the first UNDEFINED; key_/idx_ of UNDEFINED are UNDEFINED too
        self.emit(f"if {current} is not U: {result}.append({current})")
        self.depth -= 2
        self.emit("else:")  # not a list (UNDEFINED), or a subclass of list or tuple
        self.emit(f"    {result} = walk_({var}, {self.const(rest)})")

    # -- values --------------------------------------------------------------------------------

    def value(self, value: Value, scope: _Scope, out: _Out) -> _Expr:
        expr = self.raw(value, scope, out)
        return self.modify(value.mods, expr, scope, out, value.pos)

    def raw(self, value: Value, scope: _Scope, out: _Out) -> _Expr:
        if isinstance(value, Const):
            if isinstance(value.value, _IMMUTABLE):
                return _Expr(self.const(value.value), False, value.value is None)
            var = self.local("v")
            self.emit(f"{var} = copy_({self.const(value.value)})")
            return _Expr(var, False, False)
        if isinstance(value, PathValue):
            return _Expr(self.read(value.path, scope, out, value.pos), True, True)
        if isinstance(value, Coalesce):
            return self.coalesce(value, scope, out)
        if isinstance(value, Template):
            return self.template(value, scope, out)
        if isinstance(value, Conditional):
            return self.conditional(value, scope, out)
        if isinstance(value, Each):
            return self.each(value, scope, out)
        if isinstance(value, ObjectValue):
            return self.object_value(value, scope, out)
        return self.list_value(value, scope, out)

    def coalesce(self, value: Coalesce, scope: _Scope, out: _Out) -> _Expr:
        var = self.local("v")
        names = [self.read(path, scope, out, value.pos) for path in value.paths]
        for n, name in enumerate(names[:-1]):
            self.emit(f"{'if' if n == 0 else 'elif'} {name} is not U and {name} is not None:")
            self.emit(f"    {var} = {name}")
        last = names[-1]
        self.emit("else:")
        self.emit(f"    {var} = U if {last} is None else {last}")
        return _Expr(var, True, False)

    def template(self, value: Template, scope: _Scope, out: _Out) -> _Expr:
        pieces: list[str] = []
        for part in value.parts:
            if isinstance(part, str):
                pieces.append("{" + self.const(part) + "}")
            else:
                name = self.read(part, scope, out, value.pos)
                pieces.append(f"{{{name} if {name}.__class__ is S else render_({name})}}")
        var = self.local("v")
        self.emit(f"s = {self.step(out, value.pos)}")
        self.emit(f'{var} = f"{"".join(pieces)}"')
        return _Expr(var, False, False)

    def condition(self, cond: Condition, scope: _Scope, out: _Out) -> str:
        name = self.read(cond.path, scope, out, cond.pos)
        if cond.op == "exists":
            test = f"({name} is not U and {name} is not None)"
        elif cond.op == "blank" and self.fast_paths:
            test = (
                f"(not {name}.strip() if {name}.__class__ is S "
                f"else {name} is None or {name} is U or blank_({name}))"
            )
        elif cond.op == "blank":
            test = f"blank_({name})"
        elif cond.op == "equals" and isinstance(cond.operand, str):
            test = f"{name} == {self.const(cond.operand)}"
        elif cond.op == "equals":
            test = f"same_({name}, {self.const(cond.operand)})"
        else:
            test = f"isin_({name}, {self.const(cond.operand)})"
        return f"not {test}" if cond.negate else test

    def conditional(self, value: Conditional, scope: _Scope, out: _Out) -> _Expr:
        var = self.local("v")
        self.emit(f"s = {self.step(out, value.condition.pos)}")
        self.emit(f"if {self.condition(value.condition, scope, out)}:")
        undefined = null = False
        for n, branch in enumerate((value.then, value.otherwise)):
            if n == 1:
                self.emit("else:")
            self.depth += 1
            if branch is None:
                self.emit(f"{var} = U")
                undefined = True
            else:
                result = self.value(branch, scope, out)
                self.emit(f"{var} = {result.name}")
                undefined, null = undefined or result.undefined, null or result.null
            self.depth -= 1
        return _Expr(var, undefined, null)

    def each(self, value: Each, scope: _Scope, out: _Out) -> _Expr:
        source = self.read(value.source, scope, out, value.pos)
        var, results, index, item = (
            self.local("v"),
            self.local("r"),
            self.local("i"),
            self.local("it"),
        )
        self.emit(f"if {source}.__class__ is L or {source}.__class__ is T:")
        self.depth += 1
        self.emit(f"{results} = []")
        self.emit(f"for {index}, {item} in enumerate_({source}):")
        self.depth += 1
        inner = _Scope(item)
        self.hoist(inner, _scope_paths(value.item, root=False))
        result = self.value(value.item, inner, out.item(index))
        self.emit(self.skip_undefined(result, f"{results}.append({result.name})"))
        self.depth -= 2
        self.emit(f"    {var} = {results}")
        self.emit(f"elif {source} is U or {source} is None:")
        self.emit(f"    {var} = {source}")
        self.emit("else:")
        self.emit(f"    s = {self.step(out, value.pos)}")
        self.emit(f"    raise not_list_({source})")
        return _Expr(var, True, True)

    def object_value(self, value: ObjectValue, scope: _Scope, out: _Out) -> _Expr:
        fields = [
            (self.const(key), self.value(child, scope, out.key(key))) for key, child in value.fields
        ]
        var = self.local("o")
        self.emit(f"{var} = {{{', '.join(f'{key}: {expr.name}' for key, expr in fields)}}}")
        for key, expr in fields:
            if expr.undefined:
                self.emit(f"if {expr.name} is U: del {var}[{key}]")
        return _Expr(var, False, False)

    def list_value(self, value: ListValue, scope: _Scope, out: _Out) -> _Expr:
        items = [self.value(child, scope, out.position(n)) for n, child in enumerate(value.items)]
        var = self.local("v")
        # items up to the first that may be undefined go in the literal, the rest are appended
        cut = next((n for n, item in enumerate(items) if item.undefined), len(items))
        if cut == len(items) - 1 == 0:
            name = items[0].name
            self.emit(f"{var} = [{name}] if {name} is not U else []")
            return _Expr(var, False, False)
        self.emit(f"{var} = [{', '.join(item.name for item in items[:cut])}]")
        for item in items[cut:]:
            self.emit(self.skip_undefined(item, f"{var}.append({item.name})"))
        return _Expr(var, False, False)

    @staticmethod
    def skip_undefined(expr: _Expr, statement: str) -> str:
        return f"if {expr.name} is not U: {statement}" if expr.undefined else statement

    # -- modifiers -----------------------------------------------------------------------------

    def modify(self, mods: Modifiers, expr: _Expr, scope: _Scope, out: _Out, pos: Pos) -> _Expr:
        drop_null = mods.drop_null or self.spec.drop_nulls
        if not (mods.transforms or mods.has_default or (drop_null and expr.null) or mods.required):
            return expr
        var = self.local("v")  # a fresh local: the input may be a shared path variable
        undefined, null = expr.undefined, expr.null
        if drop_null and null and not (mods.transforms or mods.has_default or mods.required):
            self.emit(f"{var} = U if {expr.name} is None else {expr.name}")
            return _Expr(var, True, False)
        self.emit(f"{var} = {expr.name}")
        if mods.transforms:
            undefined = null = self.pipeline(
                mods.transforms, var, scope, out, guard=undefined or null
            )
        if mods.has_default:
            self.emit(f"if {var} is U or {var} is None: {var} = {self.constant(mods.default)}")
            undefined, null = False, mods.default is None
        if drop_null and null:
            self.emit(f"if {var} is None: {var} = U")
            undefined, null = True, False
        if mods.required and (undefined or null):
            step = self.step(out, pos, value_var=var)
            self.emit(f"if {var} is U or {var} is None: raise Missing_({step})")
            undefined = null = False
        return _Expr(var, undefined, null)

    def constant(self, value: object) -> str:
        """An expression for an output constant: containers are copied per call."""
        if isinstance(value, _IMMUTABLE):
            return self.const(value)
        return f"copy_({self.const(value)})"

    def pipeline(
        self, calls: tuple[TransformCall, ...], var: str, scope: _Scope, out: _Out, *, guard: bool
    ) -> bool:
        """Apply ``calls`` to ``var``; True when the result may be undefined or null."""
        opened = 0
        missing = guard  # may ``var`` be undefined or null here?
        for call in calls:
            if missing:  # transforms never see undefined or null
                self.emit(f"if {var} is not U and {var} is not None:")
                self.depth += 1
                opened += 1
            bound = self.bind(call)
            args = [self.argument(arg, scope, out) for arg in bound.args]
            call_text = f"{self.const(bound.tdef.func)}({', '.join((var, *args))})"
            inline = self.inline(bound)
            if inline is None:
                self.emit(f"s = {self.step(out, call.pos, call.name, var)}")
                self.emit(f"{var} = {call_text}")
                missing = True
                continue
            constants = tuple(arg.value for arg in bound.args if is_constant(arg))
            generic = _Generic(bound.tdef.func, constants, self.next_line() + 1)
            self.emit(f"s = {self.step(out, call.pos, call.name, var, generic)}")
            self.emit(f"{var} = {self.inline_code(inline, var, call_text)}")
            missing = not inline.defined
        self.depth -= opened
        return opened > 0 or missing

    def inline(self, bound: BoundCall) -> Inline | None:
        """The transform's fast path for this call, when it has one and every argument is constant."""
        tdef = bound.tdef
        if not self.fast_paths or not all(is_constant(arg) for arg in bound.args):
            return None
        if tdef.inline is not None:
            return tdef.inline(tuple(arg.value for arg in bound.args if is_constant(arg)))
        if tdef.fast is not None:
            kind, func = tdef.fast
            return Inline(((kind, "{fast}({v})"),), {"fast": func})
        return None

    def inline_code(self, inline: Inline, var: str, call_text: str) -> str:
        """``case if type is kind else ... else transform(value)``; every name bound, no YAML text."""
        names = {name: self.const(obj) for name, obj in inline.objects.items()}
        names.update(v=var, generic=call_text)
        if any("{t}" in code for _, code in inline.cases):
            names["t"] = self.local("t")
        code = call_text
        for kind, template in reversed(inline.cases):
            fast = template.format_map(names)
            code = f"({fast}) if {var}.__class__ is {self.const(kind)} else {code}"
        return code

    def bind(self, call: TransformCall) -> BoundCall:
        where = Location(file=self.spec.file, line=call.pos.line, column=call.pos.column)
        tdef = self.registry.get(call.name)
        if tdef is None:
            raise MappingError(f"unknown transform {call.name!r}", location=where)
        try:
            return bind(tdef, call, self.spec.lookups)
        except ValueError as exc:
            raise MappingError(str(exc), location=where) from None

    def argument(self, arg: Value, scope: _Scope, out: _Out) -> str:
        if is_constant(arg):
            # bound once and shared: prepared arguments (tables, regexes) must not be copied
            return self.const(arg.value)
        result = self.value(arg, scope, out)
        if not result.undefined:
            return result.name
        var = self.local("a")  # transforms never see UNDEFINED: an undefined argument is None
        self.emit(f"{var} = None if {result.name} is U else {result.name}")
        return var


class _Expr(NamedTuple):
    """A generated value: the name holding it, and whether it may be undefined / null."""

    name: str
    undefined: bool
    null: bool


def _before_star(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    for n, step in enumerate(steps):
        if step is STAR:
            return steps[:n]
    return steps


def _scope_paths(value: Value, *, root: bool) -> Iterator[PathExpr]:
    """Paths read in this scope; with ``root``, also ``$.`` paths from inside every ``each``."""
    for path, nested in _all_paths(value, 0):
        if (nested == 0 and (root or path.anchor != "root")) or (root and path.anchor == "root"):
            yield path


def _all_paths(value: Value, depth: int) -> Iterator[tuple[PathExpr, int]]:
    """Every path read under ``value`` with the ``each`` depth it is read at."""
    if isinstance(value, PathValue):
        yield value.path, depth
    elif isinstance(value, Coalesce):
        yield from ((path, depth) for path in value.paths)
    elif isinstance(value, Template):
        yield from ((part, depth) for part in value.parts if isinstance(part, PathExpr))
    elif isinstance(value, Conditional):
        yield value.condition.path, depth
        for branch in (value.then, value.otherwise):
            if branch is not None:
                yield from _all_paths(branch, depth)
    elif isinstance(value, Each):
        yield value.source, depth
        yield from _all_paths(value.item, depth + 1)
    elif isinstance(value, ObjectValue):
        for _, child in value.fields:
            yield from _all_paths(child, depth)
    elif isinstance(value, ListValue):
        for child in value.items:
            yield from _all_paths(child, depth)
    for call in value.mods.transforms:
        for arg in (*call.args, *(v for _, v in call.kwargs)):
            yield from _all_paths(arg, depth)


def _remember_source(filename: str, source: str) -> None:
    # Tracebacks through generated code then show its lines instead of nothing.
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
