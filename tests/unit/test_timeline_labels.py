"""Every event the product can write on a request's history has a Spanish label.

The events are found in the source, not listed by hand: every call of a function or method that
takes an `event` parameter (`SaleRequest.advance`/`note`, `stages.advance`, the services' own
helpers) and every `HistoryEntry(event=...)`. A literal is an event; a name is followed to what
it is assigned (a module constant, a local variable); a parameter passed through is checked at
its callers; an f-string must be one of the families below, whose values come from the enums.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ventas.console.timeline import details, requirement_names
from ventas.domain.catalogue import UNCLASSIFIED
from ventas.domain.messages import MESSAGE_LABELS
from ventas.domain.models import EXECUTION_END_REASONS, REASON_LABELS, Outcome, ReasonCode, Step
from ventas.domain.tasks import TaskKind
from ventas.domain.timeline import EVENT_LABELS, event_label
from ventas.services.whatsapp import STATUSES_RECORDED
from ventas.web.views import HistoryView, StepView

SRC = Path(__file__).resolve().parents[2] / "src" / "ventas"
# An f-string event, as the source spells it -> every name it can take.
FAMILIES: dict[str, set[str]] = {
    "f'{task.kind.value}_done'": {f"{k.value}_done" for k in TaskKind},
    "f'request_{outcome.value}'": {f"request_{o.value}" for o in Outcome},
    "f'execution_{execution_status.lower()}'": {f"execution_{s.lower()}" for s in EXECUTION_END_REASONS},
    "f'customer_message_{status.status}'": {f"customer_message_{s}" for s in STATUSES_RECORDED},
}


READERS = frozenset({"event_label"})  # take an event's name to read it, not to write it


@dataclass(frozen=True)
class Writer:
    module: str
    name: str
    method: bool
    index: int  # position of `event` among the arguments (self left out)


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(p.relative_to(SRC.parent).with_suffix("").parts): ast.parse(p.read_text(encoding="utf-8"))
        for p in SRC.rglob("*.py")
    }


def _writers(modules: dict[str, ast.Module]) -> list[Writer]:
    found = []
    for module, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name not in READERS:
                arguments = node.args.args
                method = bool(arguments) and arguments[0].arg == "self"
                arguments = arguments[1:] if method else arguments
                names = [a.arg for a in arguments]
                # `event: str`: an event's name (a Lambda event or an installation event is no name)
                if "event" in names and ast.unparse(arguments[names.index("event")].annotation or ast.Pass()) == "str":
                    found.append(Writer(module, node.name, method, names.index("event")))
    return found


def _imported(tree: ast.Module, name: str) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and any(a.name == name for a in node.names):
            return node.module
    return None


def _event_argument(call: ast.Call, module: str, tree: ast.Module, writers: list[Writer]) -> ast.expr | None:
    keyword = next((k.value for k in call.keywords if k.arg == "event"), None)
    if isinstance(call.func, ast.Name) and call.func.id == "HistoryEntry":
        return keyword
    if isinstance(call.func, ast.Attribute):
        matches = [w for w in writers if w.method and w.name == call.func.attr]
    elif isinstance(call.func, ast.Name):
        home = module if any(w.module == module for w in writers if w.name == call.func.id) else None
        home = home or _imported(tree, call.func.id)
        matches = [w for w in writers if not w.method and w.name == call.func.id and w.module == home]
    else:
        return None
    if not matches:
        return None
    index = matches[0].index
    assert all(w.index == index for w in matches), f"{matches}: `event` at different positions"
    return call.args[index] if len(call.args) > index else keyword


def _assigned(name: str, scopes: list[ast.AST]) -> list[ast.expr] | None:
    """What `name` is assigned in the innermost scope that assigns it; None for a parameter."""
    for scope in scopes:
        if isinstance(scope, ast.FunctionDef) and name in {a.arg for a in scope.args.args + scope.args.kwonlyargs}:
            return None
        values = [
            node.value
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign)
            and any(name in {n.id for n in ast.walk(t) if isinstance(n, ast.Name)} for t in node.targets)
        ]
        if values:
            return values
    raise AssertionError(f"cannot tell what event `{name}` is")


def _calls(node: ast.AST) -> list[ast.Call]:
    """The calls in `node`'s own body: not those of the functions defined inside it."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef):
            continue
        if isinstance(child, ast.Call):
            found.append(child)
        found += _calls(child)
    return found


def _events(value: ast.expr, module: str) -> set[str]:
    for node in ast.walk(value):
        if isinstance(node, ast.JoinedStr):
            text = ast.unparse(node)
            assert text in FAMILIES, f"{module}: event {text} is not a known family"
            return FAMILIES[text]
    return {n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def written_events() -> set[str]:
    modules = _modules()
    writers = _writers(modules)
    events: set[str] = set()

    def visit(node: ast.AST, scopes: list[ast.AST], module: str, tree: ast.Module) -> None:
        for call in _calls(node):
            argument = _event_argument(call, module, tree, writers)
            if argument is None:
                continue
            values = [argument]
            if isinstance(argument, ast.Name):
                values = _assigned(argument.id, scopes) or []  # a parameter: checked at its callers
            for value in values:
                events.update(_events(value, module))
        for child in ast.walk(node):
            if isinstance(child, ast.FunctionDef) and child is not node and _parent_function(node, child):
                visit(child, [child, *scopes], module, tree)

    for module, tree in modules.items():
        visit(tree, [tree], module, tree)
    return events


def _parent_function(node: ast.AST, child: ast.FunctionDef) -> bool:
    """Whether `child` is defined directly in `node` (not inside another function of it)."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        current = stack.pop()
        if current is child:
            return True
        if not isinstance(current, ast.FunctionDef):
            stack.extend(ast.iter_child_nodes(current))
    return False


def test_every_event_the_domain_can_write_has_a_spanish_label() -> None:
    events = written_events()
    # The scan sees the events written every way: literal, constant, local variable, f-string.
    assert {"lead_received", "contract_received", "requirements_requested", "call_again_scheduled"} <= events
    assert {"qc_call_done", "request_sold", "execution_aborted", "customer_message_read"} <= events
    assert len(events) > 40
    missing = sorted(events - EVENT_LABELS.keys())
    assert not missing, f"events without a Spanish label in ventas.domain.timeline: {missing}"
    assert not sorted(EVENT_LABELS.keys() - events), "labels of events nothing writes: remove them"


def test_labels_are_spanish_sentences_and_an_unknown_event_shows_as_itself() -> None:
    for event, label in EVENT_LABELS.items():
        assert label[0].isupper(), event
        assert "_" not in label, event
    assert event_label("document_received") == "Requisito recibido por WhatsApp (paso 9)"
    assert event_label("something_new") == "something_new"


@pytest.mark.parametrize(
    ("event", "detail", "shown"),
    [
        (
            "coverage_checked",
            {"reason": {"code": "NO_COVERAGE", "label": "x"}},
            [("motivo", REASON_LABELS[ReasonCode.NO_COVERAGE])],
        ),
        ("coverage_checked", {"reason": {"label": "Otra razón"}}, [("motivo", "Otra razón")]),
        ("request_sold", {"reason": None}, []),
        (
            "coverage_checked",
            {"technology": "COPPER", "zone_id": "CBB-LASCUADRAS-COPPER"},
            [("tecnología", "cobre"), ("zona GIS", "CBB-LASCUADRAS-COPPER")],
        ),  # written so before: left out, never "None"
        (
            "document_received",
            {"requirement": UNCLASSIFIED, "missing": []},
            [
                ("requisito", "Documento sin clasificar (un agente lo revisa)"),
                ("faltan", "ninguno"),
            ],
        ),
        (
            "customer_message_refused",
            {"template": "requirements_request", "meta_code": None, "reason": "unavailable"},
            [
                ("motivo", "WhatsApp no respondió"),
                ("mensaje", MESSAGE_LABELS["requirements_request"]),
            ],
        ),
        (
            "customer_message_refused",
            {"reason": "not_a_recipient"},
            [
                ("motivo", "el número no puede recibir mensajes de WhatsApp"),
            ],
        ),
    ],
)
def test_details_are_spanish_words_never_codes_none_or_dicts(
    event: str, detail: dict[str, object], shown: list[tuple[str, str]]
) -> None:
    entry = HistoryView(
        at=datetime(2026, 11, 24, 14, tzinfo=UTC),
        at_local="24/11/2026 10:00",
        step=StepView.of(Step.DOCUMENTS),
        event=event,
        label=event_label(event),
        detail=detail,
    )
    assert details(entry, requirement_names([])) == shown
