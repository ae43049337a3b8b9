"""MkDocs hook: every public class, function and module of Zen's packages has
a place in the API reference.

The API pages name some members one by one (`zen.nn` has no `__all__`, and
the top-level `zen` links to where each name lives), so a new layer or
callback could be left off them without any other warning. After the build,
this hook reads the packages below (statically, with griffe: nothing is
imported) and warns about each public name the site has no anchor for;
`mkdocs build --strict` fails on the warning.

A package's public names are its `__all__`, or, without one, the names
that do not start with "_" and that it binds (an `__init__.py`: defined or
imported there) or defines (any other module). Attributes (constants, and
other names for a class such as `MaxPooling2D = MaxPool2D`) are not
required. A name counts as documented when the site has an anchor for it
or for the object's own path (`zen.nn.ReLU` is documented as
`zen.nn.activations.ReLU`). A function imported into a package from a
submodule of the same name (`zen.autodiff.conv1d`) is one that griffe
files as the submodule; it counts as documented under its own path too.
"""
import ast
import logging
from pathlib import Path

import griffe

PACKAGES = ("zen", "zen.autodiff", "zen.nn", "zen.nn.losses", "zen.nn.activations",
            "zen.nn.initializers", "zen.optim", "zen.optim.schedules", "zen.data", "zen.train",
            "zen.callbacks", "zen.metrics", "zen.models", "zen.distributed",
            "zen.regularizers", "zen.constraints")

log = logging.getLogger("mkdocs.hooks.zen_coverage")


def public_names(module) -> list:
    """The names `module` offers (see the module's docstring)."""
    if module.exports is not None:
        return [name if isinstance(name, str) else name.name for name in module.exports]
    if module.filepath.name == "__init__.py":
        return [name for name in _bound_names(module.filepath) if not name.startswith("_")]
    return [name for name, member in module.members.items()
            if not name.startswith("_") and not member.is_alias]


def _bound_names(path) -> list:
    """The names a module's top-level statements bind (imports, defs, assignments)."""
    names = []
    for node in ast.parse(Path(path).read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def missing(root: Path, has_anchor) -> list:
    """The public classes, functions and modules of PACKAGES that `has_anchor` rejects."""
    zen = griffe.load("zen", search_paths=[str(root)], resolve_aliases=True,
                      resolve_external=False)
    absent = []
    for package in PACKAGES:
        module = zen if package == "zen" else zen[package.removeprefix("zen.")]
        for name in public_names(module):
            member = module[name]
            try:
                target = member.final_target if member.is_alias else member
            except griffe.AliasResolutionError:
                continue  # an import from outside zen (numpy, mpi4py)
            if target.is_attribute or not target.path.startswith("zen"):
                continue
            paths = [f"{package}.{name}", target.path]  # under this name, or where it lives
            if target.is_module and name in target.members:  # see the module's docstring
                paths.append(f"{target.path}.{name}")
            if not any(has_anchor(path) for path in paths):
                absent.append(f"{package}.{name}")
    return absent


def on_post_build(config):
    """Warns about each public name that no API page documents."""
    autorefs = config.plugins["autorefs"]

    def has_anchor(identifier):
        try:
            autorefs.get_item_url(identifier)
        except KeyError:
            return False
        return True

    root = Path(config["config_file_path"]).parent
    for identifier in missing(root, has_anchor):
        log.warning(f"{identifier} is public but on no API page: add it to a page "
                    f"under docs/api/")
