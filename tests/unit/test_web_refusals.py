"""Every refusal a use case can make has its text in French and English (web/refusals.py): the
codes are found by reading the package's source with `ast`, not listed by hand, so that a code
added later without a text fails here.

A code is found where a refusal is made:
- a call to ServiceError or one of its subclasses (found by their bases), to Problem, or to
  TargetError (a webhook URL's refusal, made a refusal of `url` by services/webhooks.py): its
  `code=` keyword or the positional argument the class's `__init__` takes the code at;
- the default of a `code` parameter of such a class's `__init__` (NotFoundError's `not_found`);
- `error_code=` of a job's outcome (a failed job shows its code and text, like a refusal);
- the code given is followed back: a constant, `a if c else b`, a local variable (each value it
  is assigned), a module constant (imported ones too), a class constant (`cls.MANY`), or a
  parameter of the function that makes the refusal (`refused("plan_stale")`): then each call of
  that function gives it, or the parameter's default.
What cannot be followed back is listed in DYNAMIC, each with its own check below.

The texts that name values read them from the service's English message (refusals.DETAILED):
each of their patterns is checked against messages the services really make, rendered from the
source where the message is made of constants, or made by the services' own functions and
templates below.
"""

import ast
import importlib
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tambour import i18n
from tambour.contacts import reader
from tambour.rules import codes as rule_codes
from tambour.rules import content, labels
from tambour.rules.codes import Channel, Nature
from tambour.rules.facts import AdvertiserFacts
from tambour.services import (
    advertisers,
    api_keys,
    audit_reads,
    campaign_definition,
    campaign_drafts,
    campaigns,
    contact_writes,
    import_mapping,
    importer,
    jobs,
    messages,
    optouts,
    passwords,
    reply_inbox,
    webhooks,
)
from tambour.services.context import InvalidInputError, Problem, ServiceError
from tambour.services.users import ThrottledError
from tambour.web import refusals
from tambour.webhooks import targets

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tambour"
# The entry points word the use cases' refusals (a page reads a failed job's code back into a
# Problem to show it): they make none of their own.
SKIPPED = ("api/", "cli/", "web/")
# The classes refusals are made with: name -> (position of the code, of the message) in a call;
# None for ServiceError: read from its `__init__` (and each subclass's).
CARRIER_ROOTS: dict[str, tuple[int, int] | None] = {
    "ServiceError": None,
    "Problem": (1, 2),
    "TargetError": (0, 1),
}
LANGUAGES = ("fr", "en")


# --- reading the source -----------------------------------------------------------------------


@dataclass
class Module:
    path: str  # relative to the package, with slashes
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def enclosing(self, node: ast.AST) -> list[ast.AST]:
        """The functions and classes around `node`, innermost first."""
        found: list[ast.AST] = []
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.append(current)
            current = self.parents.get(current)
        return found

    def imported(self) -> Any:
        return importlib.import_module("tambour." + self.path.removesuffix(".py").replace("/", "."))


def modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(SKIPPED):
            found.append(Module(relative, ast.parse(path.read_text(encoding="utf-8"))))
    return found


Function = ast.FunctionDef | ast.AsyncFunctionDef


def callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def positional(function: Function) -> list[ast.arg]:
    """The parameters a call can give by position, `self`/`cls` left out for a method."""
    params = [*function.args.posonlyargs, *function.args.args]
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    return params


def default_of(function: Function, name: str) -> ast.expr | None:
    params = [*function.args.posonlyargs, *function.args.args]
    defaults = dict(zip([p.arg for p in params][::-1], function.args.defaults[::-1], strict=False))
    for param, value in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True):
        if value is not None:
            defaults[param.arg] = value
    return defaults.get(name)


def string_constant(expr: ast.AST | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


@dataclass(frozen=True)
class Carrier:
    """A class a refusal is made with, and where its calls give the code and the message."""

    name: str
    code_at: int | None  # None: by keyword only
    message_at: int | None
    bases: tuple[str, ...]
    node: ast.ClassDef | None


def carriers(found: list[Module]) -> dict[str, Carrier]:
    """ServiceError and its subclasses (by their bases' names, aliases included), Problem and
    TargetError, each with where its constructor takes the code and the message."""
    classes = {
        node.name: node
        for module in found
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
    }
    known: dict[str, Carrier] = {
        name: Carrier(name, at and at[0], at and at[1], (), classes.get(name))
        for name, at in CARRIER_ROOTS.items()
    }
    grown = True
    while grown:
        grown = False
        for name, node in classes.items():
            bases = tuple(b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases)
            if name not in known and any(base in known for base in bases):
                known[name] = Carrier(name, None, None, bases, node)
                grown = True
        for module in found:
            for stmt in module.tree.body:  # InvalidInput = InvalidInputError
                if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name)):
                    continue
                for target in stmt.targets:
                    if (
                        stmt.value.id in known
                        and isinstance(target, ast.Name)
                        and target.id not in known
                    ):
                        known[target.id] = known[stmt.value.id]
                        grown = True
    return {name: _with_positions(carrier, known) for name, carrier in known.items()}


def _init(carrier: Carrier, known: dict[str, Carrier]) -> ast.FunctionDef | None:
    """The `__init__` a carrier's calls go to (its own, or its nearest base's)."""
    current: Carrier | None = carrier
    while current is not None and current.node is not None:
        for stmt in current.node.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
                return stmt
        current = next((known[b] for b in current.bases if b in known), None)
    return None


def _with_positions(carrier: Carrier, known: dict[str, Carrier]) -> Carrier:
    if CARRIER_ROOTS.get(carrier.name) is not None:
        return carrier
    init = _init(carrier, known)
    names = [p.arg for p in positional(init)] if init is not None else []
    return Carrier(
        carrier.name,
        names.index("code") if "code" in names else None,
        names.index("message") if "message" in names else None,
        carrier.bases,
        carrier.node,
    )


# --- following a code back --------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A refusal made with a constant code: where, and the expression of its message."""

    code: str
    module: Module
    message: ast.expr | None


@dataclass
class Found:
    codes: dict[str, set[str]] = field(default_factory=dict)  # code: where ("path:line")
    dynamic: set[str] = field(default_factory=set)  # "path:function:expression"
    sites: list[Site] = field(default_factory=list)

    def add(self, code: str, where: str) -> None:
        self.codes.setdefault(code, set()).add(where)


class Scanner:
    def __init__(self) -> None:
        self.modules = modules()
        self.by_path = {m.path: m for m in self.modules}
        self.carriers = carriers(self.modules)
        self.found = Found()
        self.followed: set[tuple[str, int, str]] = set()  # parameters read already

    def run(self) -> Found:
        for module in self.modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call):
                    self._call(module, node)
                elif isinstance(node, ast.ClassDef) and node.name in self.carriers:
                    self._defaults(module, node)
        return self.found

    def _defaults(self, module: Module, node: ast.ClassDef) -> None:
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
                default = string_constant(default_of(stmt, "code"))
                if default is not None:
                    self.found.add(default, f"{module.path}:{stmt.lineno}")

    def _carrier_of(self, module: Module, call: ast.Call) -> Carrier | None:
        name = callee(call)
        around = module.enclosing(call)
        inside = next((n for n in around if isinstance(n, ast.ClassDef)), None)
        if inside is not None and inside.name in self.carriers:
            if name == "cls":  # InvalidInputError.many: cls(None, cls.MANY, ...)
                return self.carriers[inside.name]
            if name == "__init__" and isinstance(call.func, ast.Attribute):  # super().__init__
                carrier = self.carriers[inside.name]
                base = next((b for b in carrier.bases if b in self.carriers), None)
                return self.carriers[base] if base else None
        if isinstance(call.func, ast.Attribute) and name in ("many", "__init__"):
            return None
        return self.carriers.get(name or "")

    def _call(self, module: Module, call: ast.Call) -> None:
        where = f"{module.path}:{call.lineno}"
        for keyword in call.keywords:  # a job's failure
            if keyword.arg == "error_code":
                value = string_constant(keyword.value)
                if value is None and isinstance(keyword.value, ast.Name):
                    value = self._module_constant(module, keyword.value.id)
                if value is not None:
                    self.found.add(value, where)
        carrier = self._carrier_of(module, call)
        if carrier is None:
            return
        given = self._argument(call, "code", carrier.code_at)
        if given is None:
            return  # the class's default (or its own code, given to super().__init__)
        code = string_constant(given)
        if code is not None:
            message = self._argument(call, "message", carrier.message_at)
            self.found.sites.append(Site(code, module, message))
        self._follow(module, given, call, where)

    @staticmethod
    def _argument(call: ast.Call, name: str, position: int | None) -> ast.expr | None:
        given = next((k.value for k in call.keywords if k.arg == name), None)
        if given is None and position is not None and len(call.args) > position:
            given = call.args[position]
        return given

    def _follow(self, module: Module, expr: ast.expr, at: ast.AST, where: str) -> None:
        """Add the codes `expr` (seen at `at`) can be, or record it as dynamic."""
        if string_constant(expr) is not None:
            self.found.add(string_constant(expr) or "", where)
            return
        if isinstance(expr, ast.IfExp):
            self._follow(module, expr.body, at, where)
            self._follow(module, expr.orelse, at, where)
            return
        around = module.enclosing(at)
        if isinstance(expr, ast.Name):
            for scope in around:
                if isinstance(scope, ast.ClassDef):
                    continue
                assert isinstance(scope, Function)
                params = [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs]
                if any(p.arg == expr.id for p in params):
                    self._parameter(module, scope, expr.id)
                    return
                assigned = list(self._assignments(scope, expr.id))
                if assigned:
                    for value in assigned:
                        self._follow(module, value, value, where)
                    return
            constant = self._module_constant(module, expr.id)
            if constant is not None:
                self.found.add(constant, where)
                return
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            constant = self._class_constant(module, expr.value.id, expr.attr, around)
            if constant is not None:
                self.found.add(constant, where)
                return
        inside = next((n for n in around if isinstance(n, ast.ClassDef)), None)
        if inside is not None and inside.name in self.carriers:
            return  # a carrier passing on the code it was given: its callers are read
        function = next((n.name for n in around if isinstance(n, Function)), "")
        self.found.dynamic.add(f"{module.path}:{function}:{ast.unparse(expr)}")

    @staticmethod
    def _assignments(scope: ast.AST, name: str) -> Iterator[ast.expr]:
        """The values `name` is assigned in `scope` itself (not in the functions inside it)."""
        todo = list(ast.iter_child_nodes(scope))
        while todo:
            node = todo.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                targets = [node.target]
            value = getattr(node, "value", None)
            if value is not None and any(isinstance(t, ast.Name) and t.id == name for t in targets):
                yield value
            todo.extend(ast.iter_child_nodes(node))

    def _module_constant(self, module: Module, name: str) -> str | None:
        for stmt in module.tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        source = stmt.module.removeprefix("tambour.").replace(".", "/")
                        other = self.by_path.get(f"{source}.py")
                        return None if other is None else self._module_constant(other, alias.name)
            targets: list[ast.expr] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AnnAssign):
                targets = [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return string_constant(getattr(stmt, "value", None))
        return None

    def _class_constant(
        self, module: Module, owner: str, attr: str, around: list[ast.AST]
    ) -> str | None:
        if owner in ("cls", "self"):
            inside = next((n for n in around if isinstance(n, ast.ClassDef)), None)
            owner = inside.name if inside is not None else owner
        carrier = self.carriers.get(owner)
        classes = [carrier.node] if carrier is not None and carrier.node is not None else []
        classes += [
            n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef) and n.name == owner
        ]
        for node in classes:
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == attr for t in stmt.targets
                ):
                    return string_constant(stmt.value)
        return None

    def _parameter(self, module: Module, function: Function, name: str) -> None:
        """`name`, a parameter of `function`: what each call of the function gives it."""
        seen = (module.path, function.lineno, name)
        if seen in self.followed:
            return
        self.followed.add(seen)
        names = [p.arg for p in positional(function)]
        index = names.index(name) if name in names else None
        parent = module.parents.get(function)
        if isinstance(parent, ast.Module):
            private = function.name.startswith("_")
            searched = [module] if private else self.modules
            trees: list[tuple[Module, ast.AST]] = [(m, m.tree) for m in searched]
        else:  # a function inside a function or a class: called there
            trees = [(module, parent)] if parent is not None else []
        calls = [
            (node, caller)
            for caller, tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and callee(node) == function.name
        ]
        if not calls:
            self.found.dynamic.add(f"{module.path}:{function.name}:{name} (never called)")
            return
        for call, caller in calls:
            given = self._argument(call, name, index) or default_of(function, name)
            if given is None:
                self.found.dynamic.add(f"{module.path}:{function.name}:{name} (not given)")
                continue
            self._follow(caller, given, call, f"{caller.path}:{call.lineno}")


@pytest.fixture(scope="module")
def found() -> Found:
    return Scanner().run()


# --- rendering a message from the source ------------------------------------------------------

_RENDERABLE = (
    ast.Constant, ast.Name, ast.Attribute, ast.BinOp, ast.operator, ast.Subscript, ast.Load,
    ast.JoinedStr, ast.FormattedValue, ast.Call, ast.keyword, ast.Tuple,
)  # fmt: skip


def rendered(site: Site) -> str | None:
    """The message of `site` when the source makes it of constants alone (literals, f-strings
    and `.format` of the module's constants); None when it needs values known at run time."""
    if site.message is None:
        return None
    namespace = vars(site.module.imported())
    for node in ast.walk(site.message):
        if not isinstance(node, _RENDERABLE):
            return None
        if isinstance(node, ast.Name) and node.id not in namespace:
            return None  # a local value: the message names something of the request
        if isinstance(node, ast.Call) and callee(node) != "format":
            return None
    value = eval(
        compile(ast.Expression(site.message), site.module.path, "eval"), dict(namespace)
    )  # constants only
    return value if isinstance(value, str) else None


def source_messages(found: Found) -> dict[str, set[str]]:
    messages_by_code: dict[str, set[str]] = {}
    for site in found.sites:
        message = rendered(site)
        if message is not None:
            messages_by_code.setdefault(site.code, set()).add(message)
    return messages_by_code


# --- messages made at run time, by the services' own functions and templates -----------------

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def refused(call: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


def contact_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def file_refusal(path: Path, mapping: dict[str, str] | None = None) -> ServiceError:
    """What an import says of a file it cannot read (importer.py's own wrapping)."""

    def read() -> None:
        with importer._unreadable("path", "unreadable_file"):
            reader.sniff(path, mapping)

    return refused(read)


def runtime_problems(tmp_path: Path) -> list[Problem]:
    """Refusals the services make with values of the request, made by their own code (or,
    where it needs a database, by their own message templates)."""
    made: list[Problem] = []

    def of(error: ServiceError) -> None:
        made.extend(error.problems)

    of(ThrottledError(30))
    of(ThrottledError(900))
    for password in ("court", "x" * (passwords.MAX_LENGTH + 1)):
        of(refused(passwords.check_password, password, email="jean@exemple.fr"))
    for name in ("x" * (campaign_definition.MAX_NAME + 1), "message 12", "Soldes 06 12 34 56 78"):
        problem = campaign_definition.name_problem(name)
        assert problem is not None
        made.append(problem)
    wanted = campaign_definition.Definition(
        nature=Nature.TRANSACTIONAL, channel=Channel.SMS, sender="MLUMIERE", text=" ",
        categories=(), professions=(), tags=(), start_at=NOW + timedelta(days=2),
        send_by=NOW + timedelta(days=1), transaction_field=None,
    )  # fmt: skip
    made.extend(campaign_definition.problems(wanted, NOW))
    facts = AdvertiserFacts(slug="maison", name="Maison", senders=("MAISON",), stop_number="36111")
    for sender in ("12345", "AB", "MAISON-LUM", "INFO"):
        said = content.sender_id_problem(sender, facts)
        assert said is not None
        made.append(Problem("senders[0]", "invalid_sender", said))
    too_long = "https://exemple.fr/" + "x" * targets.MAX_URL
    for url in ("http://exemple.fr/hook", too_long, "https://localhost/x"):
        with pytest.raises(targets.TargetError) as caught:
            targets.parse_target(url, allow_private=False)
        made.append(Problem("url", caught.value.code, str(caught.value)))
    of(refused(optouts.parse_source, "courrier"))
    files = {
        "sans-telephone.csv": b"Nom;Ville\nDupont;Lyon\n",
        "vide.csv": b"",
        "classeur.csv": b"PK\x03\x04 not really a workbook",
        "doublon.csv": "Téléphone;Mobile\n0612345678;0698765432\n".encode(),
        "melange.csv": "téléphone;nom\n0612345678;Zoé\n".encode()
        + "0698765432;Zoé\n".encode("cp1252"),
        "guillemet.csv": b'"telephone"x;nom\n0612345678;Dupont\n',
        "controle.csv": "téléphone;n\x07om\n0612345678;Dupont\n".encode(),
        "octet.csv": "téléphone;nom\n0612345678;Zoé\n".encode("cp1252") + b"0698765432;\x81\n",
        "tronque.csv": "téléphone;nom\n0612345678;Zo".encode() + "é".encode()[:1],
        "longue.csv": b"t" * (1 << 21) + b"\n",
    }
    for name, data in files.items():
        of(file_refusal(contact_file(tmp_path, name, data)))
    readable = contact_file(tmp_path, "lisible.csv", "Téléphone;Ville\n0612345678;Lyon\n".encode())
    for mapping in (
        {"Inconnu": "phone"},
        {"Téléphone": "nonsense"},
        {"Téléphone": "phone", "telephone": ""},
    ):
        of(file_refusal(readable, mapping))
    # The same words, when the meanings chosen on the import page do not fit the file.
    made.extend(
        Problem(
            "columns",
            "invalid_mapping",
            import_mapping.TEXTS["invalid_mapping"].format(error=p.message),
        )
        for p in list(made)
        if p.code == "unreadable_file"
    )
    _, siren = advertisers._non_commercial_problem("123456789")
    made.extend(siren)
    of(refused(api_keys._check_name, "x" * (api_keys.MAX_NAME + 1)))
    of(refused(webhooks._event_types, ["message.read"]))
    # The meanings of an uploaded file's columns, as chosen on the import page.
    for header, meanings in (
        (["Téléphone", "Portable", "Ville"], ["phone", "phone", "field"]),
        (["Téléphone", "Ville"], ["field", "nonsense"]),
    ):
        of(refused(import_mapping.check_meanings, header, meanings))
    of(refused(campaign_drafts.instant, "demain", "start"))
    # Made inside a transaction: their own templates, filled as the services fill them.
    texts_of = {
        "recipients_changed": campaigns.TEXTS["recipients_changed"].format(
            changed=1234, name="Soldes", at=NOW.isoformat()
        ),
        "plan_stale": campaigns.TEXTS["plan_stale"].format(
            name="Soldes",
            at=NOW.isoformat(),
            hours=campaigns.PLAN_FRESH_FOR.total_seconds() / 3600,
        ),
        "campaign_blocked": campaigns.TEXTS["campaign_blocked"].format(
            name="Soldes",
            said="missing_stop_mention: the text has no STOP mention; "
            "invalid_sender_id: 'AB' has 2 characters, a sender ID has 3 to 11",
        ),
        "invalid_slug": advertisers.TEXTS["invalid_slug"].format(slug="Maison Lumière"),
        "sender_taken": advertisers.TEXTS["sender_taken"].format(senders="MLUMIERE, SOLDES"),
        "upload_too_large": import_mapping.TEXTS["upload_too_large"].format(most=50_000_000),
        "text_too_long": campaign_drafts.TEXTS["text_too_long"].format(
            parts=12, most=content.MAX_PARTS
        ),
        "reserved_field": contact_writes.TEXTS["reserved_field"].format(name="Téléphone"),
        "duplicate_field": contact_writes.TEXTS["duplicate_field"].format(
            name="Ville", other="ville"
        ),
        "too_many_fields": contact_writes.TEXTS["too_many_fields"].format(
            most=contact_writes.MAX_FIELDS
        ),
        "send_at_too_far": messages.TEXTS["send_at_too_far"].format(
            at=NOW, days=messages.MAX_AHEAD.days
        ),
        "label_too_long": messages.TEXTS["label_too_long"].format(limit=messages.MAX_LABEL),
        "reference_too_long": messages.TEXTS["reference_too_long"].format(
            limit=messages.MAX_REFERENCE
        ),
        "unreadable_line": optouts.TEXTS["unreadable_line"].format(
            path="/tmp/stop.csv", line=12, error="unexpected end of data"
        ),
        "duplicate_column": optouts.TEXTS["duplicate_column"].format(
            path="/tmp/stop.csv", first="Téléphone", second="Mobile", column="phone"
        ),
        "control_character": optouts.TEXTS["control_character"].format(
            path="/tmp/stop.csv", index=2, name="Nom\x07", problem="holds a control character"
        ),
    }
    made.extend(Problem(None, code, said) for code, said in texts_of.items())
    made.append(Problem("count", "out_of_range", audit_reads.TEXTS["negative"].format(value=-1)))
    made.append(Problem("limit", "out_of_range", reply_inbox.TEXTS["limit"].format(limit=0)))
    made.append(Problem("limit", "out_of_range", jobs.TEXTS["limit"]))
    return made


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> list[Problem]:
    return runtime_problems(tmp_path_factory.mktemp("files"))


# --- every code has its text ------------------------------------------------------------------

# The codes built at run time, each checked by a test below.
DYNAMIC = {
    # A message refused by the legal core: the reason of its decision (rules.codes.Reason),
    # worded by its label and explanation (test_a_recipient_refused_by_the_core...).
    "services/messages.py:_decided:str(decision.reason)",
    # A message's text or sender blocked by the core (rules.codes.Block): likewise.
    "services/messages.py:_refuse_blocks:str(block.code)",
    # A webhook URL refused by webhooks/targets.py: TargetError's codes, found above as a
    # carrier's (test_the_webhook_urls_refusals_are_found).
    "services/webhooks.py:_check_url:error.code",
    # A form's wording refused by contacts/form_wording.py: WordingError's codes
    # (test_the_wording_refusals_have_texts).
    "services/consent_forms.py:_wording:error.code",
}


def _wording_codes() -> set[str]:
    """The codes of contacts/form_wording.py's WordingError (pure: no ServiceError there)."""
    from tambour.contacts import form_wording

    source = Path(form_wording.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'WordingError\(\s*[^,]+,\s*"([a-z_]+)"', source))


def test_the_wording_refusals_have_texts() -> None:
    codes = _wording_codes()
    assert codes >= {"french_required", "invalid_form_kind", "no_purpose"}
    assert codes <= set(refusals.REFUSALS), codes - set(refusals.REFUSALS)


def test_the_scan_follows_every_way_a_code_is_given(found: Found) -> None:
    """The scan is not vacuous: a code of each form it follows is found where it is made."""
    forms = {
        "campaign_exists": "services/campaigns.py",  # code= of ConflictError
        "password_too_short": "services/passwords.py",  # InvalidInputError's 2nd argument
        "text_empty": "services/campaign_definition.py",  # Problem's 2nd argument
        "plan_stale": "services/campaigns.py",  # refused("plan_stale"), an inner function
        "unreadable_mapping": "services/importer.py",  # _unreadable(field, code)
        "invalid_value": "services/contact_writes.py",  # code = "..." if ... else "..."
        "campaign_cancelled": "services/campaign_edit.py",  # a local variable
        "invalid_input": "services/context.py",  # cls.MANY
        "not_found": "services/context.py",  # NotFoundError's default
        "invalid_api_key": "services/api_keys.py",  # UnauthenticatedError's default
        "too_many_attempts": "services/users.py",  # super().__init__(..., code=...)
        "secret_key_mismatch": "services/installation.py",  # a subclass of ConflictError
        "worker_lost": "services/jobs.py",  # error_code=WORKER_LOST
        "internal_error": "jobs/runner.py",  # error_code="internal_error"
        "private_target": "webhooks/targets.py",  # TargetError("private_target", ...)
    }
    for code, path in forms.items():
        assert any(w.startswith(path) for w in found.codes.get(code, ())), code
    assert len(found.codes) > 120


def test_the_codes_built_at_run_time_are_the_ones_handled(found: Found) -> None:
    assert found.dynamic == DYNAMIC


def test_every_code_a_service_raises_has_a_text(found: Found) -> None:
    """A code without a text here reads as the service's English message in a French page:
    add it to REFUSALS (with its French in the catalogs)."""
    missing = {
        code: sorted(where)
        for code, where in found.codes.items()
        if code not in refusals.REFUSALS and code not in labels.SOURCE
    }
    assert missing == {}


def test_no_text_waits_for_a_code_no_service_raises(found: Found) -> None:
    assert set(refusals.REFUSALS) - set(found.codes) - _wording_codes() == set()
    assert set(refusals.DETAILED) <= set(refusals.REFUSALS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", list(rule_codes.Reason), ids=str)
def test_a_recipient_refused_by_the_core_reads_the_rule_behind_it(
    reason: rule_codes.Reason, language: str
) -> None:
    problem = Problem("to", str(reason), messages.TEXTS["refused"].format(code=reason))
    said = refusals.problem_text(problem, language)
    assert said.startswith(labels.label(reason, language))
    assert said.endswith(labels.explanation(reason, language) or "?")


@pytest.mark.parametrize("block", list(rule_codes.Block), ids=str)
def test_a_message_blocked_by_the_core_reads_the_block(block: rule_codes.Block) -> None:
    problem = Problem("text", str(block), "an English message")
    assert refusals.problem_text(problem, "fr") == (
        f"{labels.label(block, 'fr')}. {labels.explanation(block, 'fr')}"
    )


def test_a_code_of_the_core_and_of_a_use_case_reads_by_what_it_is_about() -> None:
    """consent_unproven: a message's recipient without proof of consent (the core's reason),
    or a consent given through the API without its method (the use case's own refusal)."""
    for_message = refusals.problem_text(Problem("to", "consent_unproven", "x"), "fr")
    for_contact = refusals.problem_text(Problem("consent.method", "consent_unproven", "x"), "fr")
    assert for_message.startswith(labels.label("consent_unproven", "fr"))
    assert for_contact == i18n.translator("fr").gettext(refusals.REFUSALS["consent_unproven"])


def test_the_webhook_urls_refusals_are_found(found: Found) -> None:
    from_targets = {
        code
        for code, where in found.codes.items()
        if any("webhooks/targets.py" in w for w in where)
    }
    assert {"invalid_url", "insecure_url", "private_target", "url_too_long"} <= from_targets


# --- the texts themselves ---------------------------------------------------------------------


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def all_msgids() -> list[str]:
    detailed = [msgid for entries in refusals.DETAILED.values() for _, msgid in entries]
    return [*refusals.REFUSALS.values(), *detailed, *refusals.FIELDS.values()]


@pytest.mark.parametrize("msgid", all_msgids())
def test_each_text_is_translated_into_french(msgid: str) -> None:
    french = i18n.translator("fr").gettext(msgid)
    assert french != msgid, "run the catalogs and translate it"
    assert i18n.translator("en").gettext(msgid) == msgid
    assert placeholders(french) == placeholders(msgid)


@pytest.mark.parametrize("msgid", [*refusals.REFUSALS.values()])
def test_a_general_text_needs_no_value(msgid: str) -> None:
    assert placeholders(msgid) == set()


@pytest.mark.parametrize(
    ("code", "entry"), [(c, e) for c, es in refusals.DETAILED.items() for e in es]
)
def test_a_detailed_text_names_only_what_its_pattern_reads(code: str, entry: Any) -> None:
    pattern, msgid = entry
    assert placeholders(msgid) <= set(pattern.groupindex), code


@pytest.mark.parametrize("msgid", [m for m in all_msgids() if m not in refusals.FIELDS.values()])
def test_sentences_in_french_typography(msgid: str) -> None:
    """A sentence that ends with a full stop; in French, a space before : ; ? ! and « » for
    quotes (an English msgid quotes with '...')."""
    english = msgid
    french = i18n.translator("fr").gettext(msgid)
    for text in (english, french):
        assert text[0].isupper() or text[0] in "{«'", text
        assert text.endswith((".", "?")), text
    assert not re.search(r"[^\s/]([:;?!])(\s|$)", french), french  # "texte : suite"
    assert not re.search(r"(^|\s)'|'(\s|[.,:;)]|$)", french), french  # no '...' quotes
    assert ("'{" in english) <= ("« {" in french), french


# --- the values a text names ------------------------------------------------------------------


def test_every_detailed_text_reads_a_message_the_services_make(
    found: Found, made: list[Problem]
) -> None:
    """Each pattern finds its values in a message a service makes today: a service whose
    wording changed shows up here, not as a general text on a page."""
    messages_by_code = source_messages(found)
    for problem in made:
        messages_by_code.setdefault(problem.code, set()).add(problem.message)
    unmatched = [
        (code, pattern.pattern)
        for code, entries in refusals.DETAILED.items()
        for pattern, _ in entries
        if not any(pattern.search(m) for m in messages_by_code.get(code, ()))
    ]
    assert unmatched == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_reads_in_the_language_of_the_page(
    found: Found, made: list[Problem], language: str
) -> None:
    problems = [*made]
    for code, said in source_messages(found).items():
        problems.extend(Problem(None, code, message) for message in said)
    for problem in problems:
        text = refusals.problem_text(problem, language)
        assert text and text != problem.message, problem
        assert "{" not in text, text


def french(made: list[Problem], code: str, **match: str) -> list[str]:
    return [
        refusals.problem_text(p, "fr")
        for p in made
        if p.code == code and all(v in p.message for v in match.values())
    ]


def test_the_values_read_from_the_messages(made: list[Problem]) -> None:
    nnbsp = "\u202f"
    assert french(made, "too_many_attempts") == [
        "Trop de tentatives échouées : réessayez dans 30 s.",
        "Trop de tentatives échouées : réessayez dans 15 min.",
    ]
    assert f"{passwords.MIN_LENGTH} caractères" in french(made, "password_too_short")[0]
    assert f"1{nnbsp}024 caractères" in french(made, "password_too_long")[0]
    assert "200 caractères" in french(made, "name_too_long")[0]
    assert f"1{nnbsp}234" in french(made, "recipients_changed")[0]
    assert "24 heures" in french(made, "plan_stale")[0]
    (blocked,) = french(made, "campaign_blocked")
    assert labels.label("missing_stop_mention", "fr") in blocked
    assert labels.label("invalid_sender_id", "fr") in blocked
    assert "MLUMIERE, SOLDES" in french(made, "sender_taken")[0]
    assert "« Ville » et « ville »" in french(made, "duplicate_field")[0]
    assert "« Téléphone »" in french(made, "reserved_field")[0]
    assert "ligne 12" in french(made, "unreadable_line")[0].lower()
    assert "sms_stop" in french(made, "invalid_source")[0]
    assert "50 Mo" in french(made, "upload_too_large")[0]
    assert "« Téléphone » et « Portable »" in french(made, "column_taken")[0]
    assert "« Téléphone » est lu comme « phone »" in french(made, "field_not_possible")[0]
    assert "12 parties" in french(made, "text_too_long")[0]
    senders = french(made, "invalid_sender")
    assert len(set(senders)) == 4 and "de 3 à 11 caractères ; celui-ci en a 2" in senders[1]


def test_a_contact_file_that_cannot_be_read_says_why_in_french(made: list[Problem]) -> None:
    said = french(made, "unreadable_file")
    assert any("colonne de téléphone" in s for s in said)
    assert "Le fichier est vide." in said
    assert any("CSV UTF-8" in s and "n'est pas un fichier CSV" in s for s in said)
    assert any("« Téléphone » et « Mobile »" in s for s in said)
    assert any(s.startswith("La ligne 3 ") for s in said)  # the line in Windows-1252
    assert any(s.startswith("La ligne 1 ne peut pas être lue") for s in said)  # a quote
    assert any("La colonne 2 de l'en-tête" in s for s in said)  # a control character


def test_a_message_worded_otherwise_gets_the_general_text() -> None:
    problem = Problem("new", "password_too_short", "too short, in some new words")
    assert refusals.problem_text(problem, "fr") == "Ce mot de passe est trop court."
    unknown = "'x' is blocked, nothing can be sent until this changes: something: else"
    blocked = Problem(None, "campaign_blocked", unknown)
    assert refusals.problem_text(blocked, "fr") == i18n.translator("fr").gettext(
        refusals.REFUSALS["campaign_blocked"]
    )


def test_a_code_without_a_text_here_falls_back_on_the_api_then_on_the_message() -> None:
    said = refusals.problem_text(Problem(None, "malformed_body", "x"), "fr")
    assert said.startswith("Le corps de la requête est illisible")
    assert refusals.problem_text(Problem(None, "some_future_code", "as said"), "fr") == "as said"


# --- a whole refusal on a page ----------------------------------------------------------------


def several() -> InvalidInputError:
    wanted = campaign_definition.Definition(
        nature=Nature.COMMERCIAL, channel=Channel.SMS, sender="MLUMIERE", text="",
        categories=("a;b",), professions=(), tags=(), start_at=None, send_by=None,
        transaction_field=None,
    )  # fmt: skip
    problems = [p for p in [campaign_definition.name_problem("")] if p is not None]
    problems += campaign_definition.problems(wanted, NOW)
    return InvalidInputError.many(problems)


def test_a_refusal_by_field_and_whole() -> None:
    error = several()
    beside = refusals.by_field(error, "fr")
    assert beside["name"] == "Un nom est obligatoire : celui-ci est vide."
    assert beside["text"] == "Le message est vide : écrivez son texte."
    assert refusals.said(error, "fr") == " ".join(
        refusals.problem_text(p, "fr") for p in error.problems
    )
    assert refusals.by_field(error, "en")["text"] == "The message is empty: write its text."


def test_a_refusal_listed_with_the_names_of_its_fields() -> None:
    shown = refusals.listed(several(), "fr")
    assert [(s.field, s.label) for s in shown][:2] == [
        ("name", "Nom"),
        ("text", "Texte du message"),
    ]
    assert refusals.listed(several(), "en")[0].label == "Name"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("senders[1]", "Noms d'expéditeur"),
        ("consent.at", "Date du consentement"),
        ("consent.channels", "Consentement"),
        ("fields.Ville", "Champs de personnalisation"),
        ("email", "Adresse e-mail"),
        (None, None),
        ("some_future_field", None),
    ],
)
def test_field_labels(field: str | None, expected: str | None) -> None:
    assert refusals.field_label(field, "fr") == expected
