"""The package's shape, read from its source with ``ast`` (nothing is imported, except in the
one test that is about what an import pulls in).

Data flows one way: ``api | cli | jobs -> export -> catalog, db, encoders, ... -> leaves``.
Only ``api/`` knows FastAPI and Starlette, only the database layer knows asyncpg, encoders know
neither, small leaves stay cheap to import, every package says what it offers in ``__all__``,
and importing a module only defines things.

How imports are counted:

- Every ``import``/``from ... import`` counts, wherever it is: at module level, inside a
  function (it runs when the function does) and inside ``if TYPE_CHECKING:``.
- The FastAPI/Starlette, asyncpg and encoders rules count type-only imports too: naming a
  module's types is knowing the module.
- The layer table counts runtime imports only. A type-only import (inside
  ``if TYPE_CHECKING:``) may name any module, because it never runs; what keeps it honest is
  that its names are used in annotations only, under ``from __future__ import annotations``,
  so it can never turn into the runtime import (and the cycle) it stands in for.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "exporter"

#: Leaf modules: small, cheap to import, importing only each other. ``exporter`` is the root
#: package itself (``exporter.__version__``).
LEAVES = frozenset({"exporter", "errors", "settings", "units", "columns", "compression"})

#: Layer -> the layers its modules may import at runtime (its own modules always). The order is
#: leaves < {catalog, encoders, access} < {db, observability} < export < files < jobs < api < cli:
#: - catalog, encoders, access: leaves only (encoders not even settings: see "settings").
#: - db: + catalog (it prepares an export's SQL).
#: - observability: + catalog (outcomes scrub secret parameters with ``catalog.params``).
#: - export: the engine, drives catalog, db, encoders and access.
#: - files: + export (``files.writing`` drives an export into a file).
#: - jobs: + files (a job writes its export to a file).
#: - api: the HTTP edge, + jobs (the ``/jobs`` routes); never db: it reaches the database
#:   through ``export`` only.
#: - cli: everything (``serve`` starts the embedded database and the API).
#: ``test_the_layer_table_points_one_way`` checks that this table has no cycle.
_MIDDLE = frozenset({"catalog", "encoders", "access", "db", "observability"})
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    **{leaf: LEAVES for leaf in LEAVES},
    # settings checks format names against the registry in ``encoders/__init__``, which names
    # each encoder's module without importing it (see the pyarrow test below).
    "settings": LEAVES | {"encoders"},
    "catalog": LEAVES,
    "encoders": LEAVES - {"settings"},
    "access": LEAVES,
    "db": LEAVES | {"catalog"},
    "observability": LEAVES | {"catalog"},
    "export": LEAVES | _MIDDLE,
    "files": LEAVES | {"catalog", "encoders", "export"},
    "jobs": LEAVES | _MIDDLE | {"export", "files"},
    "api": LEAVES | (_MIDDLE - {"db"}) | {"export", "files", "jobs"},
    "cli": LEAVES | _MIDDLE | {"export", "files", "jobs", "api"},
}

WEB_FRAMEWORKS = frozenset({"fastapi", "starlette"})
#: Modules outside ``exporter/db/`` that may import asyncpg: the job store keeps its state in
#: PostgreSQL.
ASYNCPG_OUTSIDE_DB = frozenset({"exporter.jobs.store", "exporter.jobs.schema"})

#: Calls a module may make at import time (in module-level and class-level statements, default
#: values and decorators): building constant values, never doing anything. Kept small on purpose.
DEFINITION_CALLS = frozenset({
    "re.compile", "logging.getLogger", "frozenset", "dict", "TypeVar", "ContextVar", "Path",
    "field", "dataclass", "runtime_checkable", "asynccontextmanager",
})  # fmt: skip
#: pyarrow's data type factories: what ``_arrow_values`` maps each value kind to.
_ARROW_TYPES = frozenset({
    "pa.int16", "pa.int32", "pa.int64", "pa.float32", "pa.float64", "pa.bool_", "pa.date32",
    "pa.timestamp", "pa.uuid", "pa.binary",
})  # fmt: skip
#: Calls allowed in one module only, each building a constant once.
DEFINITION_CALLS_IN = {
    # A digest compared against when a key id is unknown (equal work either way).
    "exporter.access.keys": frozenset({"hashlib.sha256", "hashlib.sha256(b'no such key').digest"}),
    # The table of parameter types: each entry's parser is built by a small factory.
    "exporter.catalog.param_types": frozenset({"_integer", "_float", "_timestamp"}),
    "exporter.encoders._arrow_values": _ARROW_TYPES,
    # One constant string array (the JSON values that are not numbers).
    "exporter.encoders._json_columns": frozenset({"pa.array"}),
    # Each setting is a dataclass field carrying its variable name and help text.
    "exporter.settings": frozenset({"_setting", "_one_of", "_distinct_names_from"}),
}
#: Packages whose modules may run code at import: ``python -m exporter.cli`` must.
RUNS_AT_IMPORT = frozenset({"cli"})

FORBIDDEN_MODULE_NAMES = frozenset({"utils", "helpers"})


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # exporter.db.connections
    path: Path
    tree: ast.Module

    @property
    def layer(self) -> str:
        """The package right under ``exporter`` (``db``), or the leaf module's name."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else parts[0]

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))


@dataclass(frozen=True, slots=True)
class Import:
    module: Module
    target: str  # the imported module, resolved: exporter.db.connections, asyncpg.exceptions
    line: int
    type_only: bool  # inside ``if TYPE_CHECKING:``
    names: tuple[str, ...]  # the names it binds

    @property
    def top(self) -> str:
        return self.target.split(".")[0]

    @property
    def layer(self) -> str | None:
        """The layer of an ``exporter`` target; None for anything else."""
        parts = self.target.split(".")
        if parts[0] != "exporter":
            return None
        return parts[1] if len(parts) > 1 else parts[0]

    def __str__(self) -> str:
        kind = " (type-only)" if self.type_only else ""
        return f"{self.module.where}:{self.line} imports {self.target}{kind}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Module]:
    """Every module under ``exporter/``, by dotted name."""
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = _module_name(path)
        found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_imports(
    node: ast.AST, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _walk_imports(ast.Module(body=[statement], type_ignores=[]), True)
            for statement in child.orelse:
                yield from _walk_imports(ast.Module(body=[statement], type_ignores=[]), type_only)
        else:
            yield from _walk_imports(child, type_only)


def _resolve_from(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: Module) -> list[Import]:
    """Each module an ``import`` statement of ``module`` imports (``from a import b`` imports
    ``a.b`` when that is a module of ours, else ``a``)."""
    found = []
    for node, type_only in _walk_imports(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                found.append(Import(module, alias.name, node.lineno, type_only, (name,)))
            continue
        base = _resolve_from(module, node)
        whole = Import(module, base, node.lineno, type_only, ())
        for alias in node.names:
            bound = (alias.asname or alias.name,)
            submodule = f"{base}.{alias.name}"
            if submodule in modules():
                found.append(Import(module, submodule, node.lineno, type_only, bound))
            else:
                whole = Import(module, base, node.lineno, type_only, (*whole.names, *bound))
        if whole.names:
            found.append(whole)
    return found


def all_imports() -> Iterator[Import]:
    for module in modules().values():
        yield from imports_of(module)


def _report(what: str, offenders: list[str]) -> str:
    return what + ":\n  " + "\n  ".join(offenders)


def test_only_the_api_package_imports_fastapi_or_starlette() -> None:
    offenders = [
        str(i) for i in all_imports() if i.top in WEB_FRAMEWORKS and i.module.layer != "api"
    ]
    assert not offenders, _report("FastAPI/Starlette imported outside exporter/api/", offenders)


def test_only_the_database_layer_imports_asyncpg() -> None:
    offenders = [
        str(i)
        for i in all_imports()
        if i.top == "asyncpg" and i.module.layer != "db" and i.module.name not in ASYNCPG_OUTSIDE_DB
    ]
    assert not offenders, _report(
        "asyncpg imported outside exporter/db/ and the job store", offenders
    )


def test_encoders_know_nothing_of_the_database_the_web_or_their_callers() -> None:
    forbidden_layers = {"db", "export", "api", "jobs", "cli"}
    offenders = [
        str(i)
        for i in all_imports()
        if i.module.layer == "encoders"
        and (i.top in WEB_FRAMEWORKS | {"asyncpg"} or i.layer in forbidden_layers)
    ]
    assert not offenders, _report("exporter/encoders/ imports what it must not", offenders)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for successor in sorted(graph.get(node, ())):
            if (found := visit(successor, [*path, node])) is not None:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        if (found := visit(start, [])) is not None:
            return found
    return None


def test_the_layer_table_points_one_way() -> None:
    layers = {m.layer for m in modules().values()}
    assert layers == set(ALLOWED_IMPORTS), "every layer needs a row in ALLOWED_IMPORTS"
    # Leaves may import each other: a cycle between them shows up in the runtime-cycle test.
    graph = {
        layer: {other for other in allowed if other != layer and other not in LEAVES}
        for layer, allowed in ALLOWED_IMPORTS.items()
    }
    cycle = _cycle(graph)
    assert cycle is None, f"the layer table has a cycle: {' -> '.join(cycle or [])}"


def test_every_layer_imports_only_the_layers_below_it() -> None:
    offenders = [
        f"{i} ({i.module.layer} may import {', '.join(sorted(ALLOWED_IMPORTS[i.module.layer]))})"
        for i in all_imports()
        if not i.type_only
        and i.layer is not None
        and i.layer != i.module.layer
        and i.layer not in ALLOWED_IMPORTS[i.module.layer]
    ]
    assert not offenders, _report("imports against the direction of the layers", offenders)


def test_runtime_imports_between_layers_form_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for i in all_imports():
        if not i.type_only and i.layer is not None and i.layer != i.module.layer:
            graph.setdefault(i.module.layer, set()).add(i.layer)
    cycle = _cycle(graph)
    assert cycle is None, f"runtime imports go round in a cycle: {' -> '.join(cycle or [])}"


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node that is part of an annotation."""
    roots: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            roots.append(node.returns)
    return {id(n) for root in roots for n in ast.walk(root)}


def test_type_only_imports_are_used_in_annotations_only() -> None:
    offenders = []
    for module in modules().values():
        type_only = {name: i for i in imports_of(module) if i.type_only for name in i.names}
        if not type_only:
            continue
        future = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "__future__"
            and any(a.name == "annotations" for a in n.names)
            for n in module.tree.body
        )
        if not future:
            offenders.append(f"{module.where}: type-only imports without postponed annotations")
        in_annotations = _annotation_nodes(module.tree)
        offenders += [
            f"{type_only[node.id]}: {node.id} used at runtime (line {node.lineno})"
            for node in ast.walk(module.tree)
            if isinstance(node, ast.Name)
            and node.id in type_only
            and id(node) not in in_annotations
        ]
    assert not offenders, _report("type-only imports that would be needed at runtime", offenders)


def test_importing_settings_does_not_import_pyarrow() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, exporter.settings; print('pyarrow' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "False", "import exporter.settings pulled in pyarrow"


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module's top-level statements bind (assignments, defs, classes, imports)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _dunder_all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            assert isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            value = ast.literal_eval(node.value)
            return list(value)
    return None


PACKAGES = sorted(name for name, module in modules().items() if module.is_package)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_lists_exactly_what_it_offers_in_all(package: str) -> None:
    module = modules()[package]
    listed = _dunder_all(module.tree)
    assert listed is not None, f"{module.where} defines no __all__"
    submodules = {
        name.rpartition(".")[2] for name in modules() if name.rpartition(".")[0] == package
    }
    bound = _bound_names(module.tree)
    problems = [
        f"{entry!r} listed twice" for entry in sorted(set(listed)) if listed.count(entry) > 1
    ]
    problems += [
        f"{entry!r} is neither a submodule nor a name bound here"
        for entry in listed
        if entry not in submodules and entry not in bound
    ]
    problems += [
        f"public submodule {name!r} is not listed"
        for name in sorted(submodules)
        if not name.startswith("_") and name not in listed
    ]
    assert not problems, _report(f"{module.where}: __all__", problems)


def test_no_module_is_called_utils_or_helpers() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("exporter", "tests", "benchmarks")
        for path in (ROOT / top).rglob("*")
        if (path.suffix == ".py" or path.is_dir())
        and path.stem.strip("_") in FORBIDDEN_MODULE_NAMES
    ]
    assert not offenders, _report("grab-bag modules (name them for what they hold)", offenders)


def _calls_at_import(statement: ast.stmt) -> Iterator[ast.Call]:
    """Calls a top-level statement makes when the module is imported: not those inside
    function bodies or lambdas (they run later), but those in decorators, default values,
    base classes and class bodies."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        pending: list[ast.AST] = [*statement.decorator_list, statement.args]
        if statement.returns is not None:
            pending.append(statement.returns)
    elif isinstance(statement, ast.ClassDef):
        pending = [*statement.decorator_list, *statement.bases, *statement.keywords]
        for inner in statement.body:
            yield from _calls_at_import(inner)
    else:
        pending = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            pending.append(node.args)
            continue
        if isinstance(node, ast.Call):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant)  # docstrings
    if isinstance(statement, ast.If):
        return _is_type_checking(statement.test)
    return isinstance(
        statement,
        ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        | ast.Assign | ast.AnnAssign | ast.Pass,
    )  # fmt: skip


def test_modules_outside_the_cli_only_define_things_at_import() -> None:
    offenders = []
    for module in modules().values():
        if module.layer in RUNS_AT_IMPORT:
            continue
        own_classes = {n.name for n in module.tree.body if isinstance(n, ast.ClassDef)}
        allowed = DEFINITION_CALLS | own_classes | DEFINITION_CALLS_IN.get(module.name, set())
        for statement in module.tree.body:
            if not _is_definition(statement):
                offenders.append(
                    f"{module.where}:{statement.lineno} runs {type(statement).__name__}"
                )
                continue
            offenders += [
                f"{module.where}:{call.lineno} calls {ast.unparse(call.func)}()"
                for call in _calls_at_import(statement)
                if ast.unparse(call.func) not in allowed
            ]
    assert not offenders, _report(
        "code run at import time (only definitions belong there)", offenders
    )
