#!/usr/bin/env python3
"""Checks that the root crate's module graph has no import cycle (docs/architecture.md).

Two levels: the top-level modules of src/ (`flow`, `cache`, …) and, inside each of them,
its files (`lookup/source.rs`, `lookup/trace.rs`, …). An edge A -> B is a `crate::B` or
`super::B` path in A's non-test code (test modules and `tests.rs` files are left out:
tests may use anything). Prints the order of the top-level modules, leaves first, or
every cycle found, and exits 1 when there is one.
"""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
TEST_MODULE = re.compile(r"^\s*#\[cfg\(test\)\]\s*\n\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{", re.M)
CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
SUPER_PATH = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+(crate|super)::\{([^;]*)\};", re.S)


COMMENT = re.compile(r"//[^\n]*")


def production_code(text):
    """The code before the first `#[cfg(test)] mod … {` (test modules come last),
    without comments (doc links name modules without importing them)."""
    match = TEST_MODULE.search(text)
    code = text[: match.start()] if match else text
    return COMMENT.sub("", code)


def module_of(path):
    """(top-level module, file module) of a source file, e.g. ("lookup", "source")."""
    relative = os.path.relpath(path, SRC).replace(os.sep, "/")
    parts = relative[: -len(".rs")].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    top = parts[0] if parts else ""
    inner = parts[1] if len(parts) > 1 else None
    return top, inner


def references(text):
    """(kind, first segment, second segment) of every crate:: and super:: path."""
    for match in CRATE_PATH.finditer(text):
        yield "crate", match.group(1), match.group(2)
    for match in SUPER_PATH.finditer(text):
        yield "super", match.group(1), None
    for match in USE_GROUP.finditer(text):
        for item in re.split(r"[,\s]+", match.group(2)):
            name = item.split("::")[0].strip("{} ")
            if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name != "self":
                yield match.group(1), name, None


def graphs():
    top_graph, inner_graphs = {}, {}
    for root, _, files in os.walk(SRC):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".rs") or name == "tests.rs" or "/filter" in path.replace(os.sep, "/"):
                continue
            top, inner = module_of(path)
            if top in ("lib", "filter", "vectors"):
                continue
            with open(path, encoding="utf-8") as source:
                text = production_code(source.read())
            top_graph.setdefault(top, set())
            inner_graph = inner_graphs.setdefault(top, {})
            if inner:
                inner_graph.setdefault(inner, set())
            for kind, first, second in references(text):
                if kind == "crate" and first != top:
                    top_graph[top].add(first)
                elif kind == "crate" and first == top and inner and second and second != inner:
                    inner_graph[inner].add(second)
                elif kind == "super" and inner and first != inner and "/" in os.path.relpath(path, SRC):
                    inner_graph[inner].add(first)
    return top_graph, inner_graphs


def cycles(graph):
    """Every elementary cycle reachable by depth-first search (enough to report)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def order(graph):
    """The modules, each after everything it depends on."""
    done, result = set(), []
    while len(done) < len(graph):
        ready = sorted(n for n in graph if n not in done and all(t in done or t not in graph for t in graph[n]))
        if not ready:
            break
        done.update(ready)
        result.append(ready)
    return result


def main():
    top_graph, inner_graphs = graphs()
    problems = [("crate", cycle) for cycle in cycles(top_graph)]
    for top, graph in sorted(inner_graphs.items()):
        problems += [(top, cycle) for cycle in cycles(graph)]
    for where, cycle in problems:
        print(f"import cycle in {where}: {' -> '.join(cycle)}")
    if problems:
        return 1
    print("no import cycle; top-level modules, leaves first:")
    for layer in order(top_graph):
        print("  " + ", ".join(layer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
