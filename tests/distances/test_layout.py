import ast
from pathlib import Path

import metrickit.distances

PACKAGE = Path(metrickit.distances.__file__).parent


def _imports(path: Path) -> set[str]:
    """The distances modules a module imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("metrickit.distances."):
            found.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "metrickit.distances":
            found |= {alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").is_file()}
    return found


def test_the_distance_modules_import_each_other_without_a_cycle():
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    def reaches(start: str, goal: str, seen: frozenset = frozenset()) -> bool:
        return any(dep == goal or (dep not in seen and reaches(dep, goal, seen | {dep})) for dep in graph.get(start, ()))

    assert [module for module in graph if reaches(module, module)] == []
