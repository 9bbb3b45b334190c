"""The domain's shape: every change names who made it, no module grows into a hub, and the
domain never reaches for the web layer."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import lobby.domain

DOMAIN = Path(lobby.domain.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(DOMAIN)]))
# Functions that change the clinic's data: each must be told who acts.
CHANGES = {
    "checkin": ("check_in", "check_in_visitor", "check_in_appointment", "add_companion", "become_walk_in"),
    "visits": ("transition", "call", "call_next", "reassign", "add_note"),
    "duty": ("set_duty", "move_on_rotation_board"),
    "appointments": ("book", "cancel", "import_csv"),
    "privacy_lifecycle": ("purge", "erase_client"),
    "identity": ("resolve",),
    "questionnaire": ("record_answers",),
    "staff_sessions": ("open_session", "end_session", "end_all"),
    "clients": ("update_client", "update_care", "note_consultation"),
    "roster": ("replace_roster", "copy_roster"),
    "dayclose": ("close_day", "close_past_days"),
    "settings": ("update_clinic", "save_line", "save_service", "save_staff", "save_partner"),
    "complaints": ("open_complaint", "calm", "escalate", "close", "set_routing"),
}


def functions(module_name):
    module = importlib.import_module(f"lobby.domain.{module_name}")
    return {name: fn for name, fn in inspect.getmembers(module, inspect.isfunction) if fn.__module__ == module.__name__}


def test_every_change_names_its_actor_and_none_assumes_one():
    for module_name in MODULES:
        for name, fn in functions(module_name).items():
            actor = inspect.signature(fn).parameters.get("actor")
            must = name in CHANGES.get(module_name, ())
            assert actor is not None or not must, f"{module_name}.{name} changes data but takes no actor"
            if actor is not None and module_name != "audit":  # audit() itself writes the trail entry
                assert actor.kind is inspect.Parameter.KEYWORD_ONLY, f"{module_name}.{name}: actor= by keyword"
                assert actor.default is inspect.Parameter.empty, f"{module_name}.{name} must not default its actor"


def test_no_domain_module_is_a_hub():
    sizes = {path.name: len(path.read_text().splitlines()) for path in DOMAIN.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 300} == {}


def test_the_domain_never_imports_the_web_layer():
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert not imported & {"flask", "flask_socketio", "flask_login", "htmx_flask", "jinja2", "werkzeug"}, path.name
        assert ast.get_docstring(tree), f"{path.name} says what it owns in its docstring"
