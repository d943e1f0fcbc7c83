"""Reading one YAML config file strictly: UTF-8 text, each key once, aliases expanded within a bound.

PyYAML's safe loader lets the later of two equal keys win silently, and it expands aliases
without limit: a "billion laughs" file of a few hundred bytes becomes a structure whose
traversal or repr never ends. :func:`load_yaml` composes the document into nodes (aliases
stay shared references there, so composing is cheap), refuses it if it is too large once
expanded or repeats a key, and only then builds Python objects.

Every refusal is a :class:`YamlRefused` whose ``problems`` are one line each, naming the file
and the line or key path. Nothing a refusal keeps refers to the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

# Nodes of the document with every alias expanded. config.yml has about 250; a billion-laughs
# file has millions. Pydantic and error messages walk the expanded document, so this bounds them.
MAX_EXPANDED_NODES = 10_000


class YamlRefused(ValueError):
    """A YAML file that is not read; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_yaml(raw: bytes, label: str, max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """The document in ``raw`` (UTF-8 YAML) as Python objects; ``label`` names the file in problems.

    Raises :class:`YamlRefused` for bytes that are not UTF-8, YAML syntax errors, a key that
    occurs twice in one mapping (naming both lines), and more than ``max_nodes`` nodes after
    alias expansion (or an alias inside its own anchor).
    """
    data, problems = _load(raw, label, max_nodes)
    if problems:  # raised here, outside every except block: no __context__ reaching the parser or the document
        raise YamlRefused(problems)
    return data


def _load(raw: bytes, label: str, max_nodes: int) -> tuple[Any, list[str]]:
    text, problem = _decode(raw, label)
    if problem:
        return None, [problem]
    loader, problem = _loader(text, label)
    if problem:
        return None, [problem]
    try:
        node, problem = _compose(loader, text, label)
        if problem or node is None:
            return None, [problem] if problem else []
        problems = _check_nodes(node, label, max_nodes)
        if problems:
            return None, problems
        data, problem = _construct(loader, node, text, label)
        return data, [problem] if problem else []
    finally:
        loader.dispose()


def _line_column(text: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of ``position`` (a character, or a byte of ``bytes``)."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, position) + 1, position - (text.rfind(newline, 0, position) + 1) + 1


def _decode(raw: bytes, label: str) -> tuple[str, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        start = exc.start
    line, column = _line_column(raw, start)
    return "", f"{label}: line {line}, column {column}: expected UTF-8 text, got byte 0x{raw[start]:02x}"


def _syntax_problem(exc: yaml.YAMLError, text: str, label: str) -> str:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, only a position
        line, column = _line_column(text, exc.position)
        return f"{label}: not valid YAML (line {line}, column {column}): unacceptable character #x{exc.character:04x}"
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{label}: not valid YAML{where}: {problem}"


def _loader(text: str, label: str) -> tuple[yaml.SafeLoader | None, str | None]:
    try:
        return yaml.SafeLoader(text), None
    except yaml.YAMLError as exc:  # the reader checks every character up front
        return None, _syntax_problem(exc, text, label)


def _compose(loader: yaml.SafeLoader, text: str, label: str) -> tuple[yaml.Node | None, str | None]:
    try:
        return loader.get_single_node(), None
    except yaml.YAMLError as exc:
        return None, _syntax_problem(exc, text, label)
    except RecursionError:  # PyYAML composes recursively
        return None, f"{label}: not valid YAML: nested too deeply"


def _construct(loader: yaml.SafeLoader, node: yaml.Node, text: str, label: str) -> tuple[Any, str | None]:
    try:
        return loader.construct_document(node), None
    except yaml.YAMLError as exc:  # e.g. an unknown tag such as !!python/object
        return None, _syntax_problem(exc, text, label)


def _children(node: yaml.Node) -> Iterator[tuple[str | int | None, yaml.Node]]:
    """``(key or index, child)``; a mapping's key nodes come with key ``None``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield None, key_node
            yield _key_text(key_node), value_node
    elif isinstance(node, yaml.SequenceNode):
        yield from enumerate(node.value)


def _key_text(key_node: yaml.Node) -> str:
    return key_node.value if isinstance(key_node, yaml.ScalarNode) else "<complex key>"


def _check_nodes(root: yaml.Node, label: str, max_nodes: int) -> list[str]:
    size = _expanded_size(root, max_nodes)
    if size is None:
        return [f"{label}: expected no alias inside its own anchor, got a recursive alias"]
    if size > max_nodes:
        return [f"{label}: expected at most {max_nodes} values with aliases expanded, got more (an alias bomb?)"]
    return _duplicate_keys(root, label)


def _expanded_size(root: yaml.Node, limit: int) -> int | None:
    """Nodes of the document with aliases expanded, counting stops past ``limit``; ``None`` if recursive.

    An alias is the very node object of its anchor, so sizes are memoized by node identity:
    linear in the composed document, however large the expansion.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # expansion started, not finished: the ancestors of the node popped
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for _, child in _children(node))
            if sizes[id(node)] > limit:
                return sizes[id(node)]
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            return None
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for _, child in _children(node))
    return sizes[id(root)]


def _duplicate_keys(root: yaml.Node, label: str) -> list[str]:
    """One problem per key repeated in a mapping, with its key path and both lines; each node visited once."""
    problems = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                line, key = key_node.start_mark.line + 1, (key_node.tag, key_node.value)
                if key in lines:
                    where = ".".join(map(str, (*path, key_node.value)))
                    problems.append(f"{label}: {where}: expected each key once, got it twice (lines {lines[key]} and {line})")
                else:
                    lines[key] = line
        stack.extend((child, (*path, key)) for key, child in reversed(list(_children(node))) if key is not None)
    return problems
