"""Hostile filters: catastrophic regular expressions, patterns RE2 cannot run in linear time, deep
nesting, long chains, long expressions and odd values never hang or crash, in the library and
in ``tracktui ls``; each mistake is a clear FilterError pointing at it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tracker
from tracker.errors import FilterError
from tracker.filters import MAX_DEPTH, MAX_LENGTH, compile_filter, filter_runs
from tui.cli import main

from .helpers import run_python
from .test_filters import make_run

EVIL = "name~'(a+)+$'"  # exponential for a backtracking engine on "aaaa…a!"
EVIL_NAME = "a" * 40 + "!"


@pytest.mark.timeout(30)
def test_catastrophic_regex_is_linear() -> None:
    runs = [make_run(EVIL_NAME), make_run("a" * 100_000 + "!"), make_run("aaa")]
    assert [r.name for r in filter_runs(runs, EVIL)] == ["aaa"]
    assert len(filter_runs(runs, "name~'^(a|aa)+$' OR name~'(a*)*b'")) == 1


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", "(?=a)", "(?!a)b", "(?<=a)b", "(?<!a)b", r"a\Z", "a{1001}", "(?:a{1000}){1000}"],
)
def test_patterns_re2_refuses_are_explained_at_the_value(pattern: str) -> None:
    expression = f"status=finished name~'{pattern}'"
    with pytest.raises(FilterError, match="bad regular expression") as info:
        compile_filter(expression)
    assert info.value.position == expression.index("'")
    lines = str(info.value).splitlines()
    assert lines[-1].index("^") == lines[-2].index("'")
    if pattern.startswith("(?") or "\\" in pattern:
        assert "linear time" in lines[0]


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("name~R16", ["lora-r16"]),
        ("name~^L", ["lora-r16", "lr-1e-2"]),
        (r"name~'\d+$'", ["lora-r16", "lr-1e-2"]),
        (r"name~'^(?P<kind>lora|lr)-'", ["lora-r16", "lr-1e-2"]),
        (r"name~'\bR\d'", ["lora-r16"]),
        ("name~'ÜBER'", ["über-run"]),
        ("name~'^.ber'", ["über-run"]),  # one character, not one byte
        ("tag~^deb", ["lr-1e-2"]),
        (r"cfg.lr~'^0\.01$'", ["lr-1e-2"]),
        ("cfg.missing~.", []),
    ],
)
def test_valid_patterns_search_case_insensitively_as_documented(
    expression: str, expected: list[str]
) -> None:
    runs = [
        make_run("lora-r16", tags=["lora"], config={"lr": 3e-4}),
        make_run("lr-1e-2", tags=["lora", "debug"], config={"lr": 1e-2}),
        make_run("über-run"),
    ]
    assert [r.name for r in filter_runs(runs, expression)] == expected


@pytest.mark.parametrize(
    "opener, levels_each, offset",
    [("(", 1, 0), ("NOT ", 1, 0), ("not (", 2, 0), ("( NOT ", 2, 0), ("(((", 3, 1)],
)
def test_nesting_past_the_limit_is_an_error_at_the_level_too_many(
    opener: str, levels_each: int, offset: int
) -> None:
    expression = opener * 2000 + "a" + ")" * 10
    with pytest.raises(FilterError, match=f"nested too deeply: more than {MAX_DEPTH}") as info:
        compile_filter(expression)
    # the opener that makes level MAX_DEPTH + 1
    assert info.value.position == (MAX_DEPTH // levels_each) * len(opener) + offset
    assert len(str(info.value)) < 400  # the caret line is an excerpt, not 2,000 openers


def test_nesting_up_to_the_limit_works() -> None:
    runs = [make_run("lora"), make_run("base")]
    deep = "(" * MAX_DEPTH + "lora" + ")" * MAX_DEPTH
    assert [r.name for r in filter_runs(runs, deep)] == ["lora"]
    assert [r.name for r in filter_runs(runs, "NOT " * MAX_DEPTH + "lora")] == ["lora"]
    assert [r.name for r in filter_runs(runs, "NOT " * (MAX_DEPTH - 1) + "lora")] == ["base"]
    mixed = "NOT (" * (MAX_DEPTH // 2) + "lora" + ")" * (MAX_DEPTH // 2)
    assert [r.name for r in filter_runs(runs, mixed)] == ["lora"]


@pytest.mark.parametrize(
    "joiner, expected",
    [(" OR ", ["lora"]), (" AND ", ["lora"]), (" ", ["lora"]), (" NOT ", [])],
)
def test_ten_thousand_terms_in_a_flat_chain(joiner: str, expected: list[str]) -> None:
    runs = [make_run("lora"), make_run("base")]
    assert [r.name for r in filter_runs(runs, joiner.join(["lora"] * 10_000))] == expected
    regex_chain = " OR ".join(f"name~'^x{i}$'" for i in range(5_000)) + " OR name~^b"
    assert [r.name for r in filter_runs(runs, regex_chain)] == ["base"]


def test_an_expression_past_the_length_limit_is_refused_briefly() -> None:
    compile_filter("a" * MAX_LENGTH)
    with pytest.raises(FilterError, match="expression too long") as info:
        compile_filter("a " * (MAX_LENGTH // 2 + 1))
    assert len(str(info.value)) < 400


def test_errors_in_long_expressions_show_an_excerpt_with_the_caret_in_place() -> None:
    expression = "lora " * 2000 + "cfg.lr<"
    with pytest.raises(FilterError, match="expected a value after '<'") as info:
        compile_filter(expression)
    assert info.value.position == len(expression)
    _, excerpt, caret = str(info.value).splitlines()
    assert excerpt.strip().startswith("…") and excerpt.endswith("cfg.lr<")
    assert caret.index("^") == len(excerpt)
    with pytest.raises(FilterError) as info:
        compile_filter("a\tb\n(")  # controls in the expression keep the caret aligned
    _, excerpt, caret = str(info.value).splitlines()
    assert caret.index("^") == len(excerpt)


def test_odd_values_never_raise() -> None:
    deep: dict[str, object] = {"x": 1}
    for _ in range(5000):
        deep = {"a": deep}
    huge = 10**400  # beyond any float
    runs = [
        make_run("deep", config={"deep": deep, "big": huge, "neg": -huge}),
        make_run("odd\ud800name", tags=["t\udfff"]),
    ]
    assert filter_runs(runs, "cfg.deep~x") == []
    assert filter_runs(runs, "cfg.deep=1") == []
    assert [r.name for r in filter_runs(runs, "cfg.deep." + "a." * 5000 + "x=1")] == ["deep"]
    assert [r.name for r in filter_runs(runs, "cfg.big>1e308 cfg.neg<-1e308")] == ["deep"]
    assert len(filter_runs(runs, "name~name OR tag~t")) == 1
    with pytest.raises(FilterError, match="not valid text"):
        compile_filter("name~'\ud800'")


def test_nested_config_lookup_with_every_prefix_a_key_is_bounded() -> None:
    """Keys "a", "a.a", "a.a.a", … at every level: a naive dotted search is exponential."""
    level: dict[str, object] = {"leaf": 1}
    for _ in range(30):
        level = {".".join("a" * k): level for k in range(1, 31)}
    run = make_run("prefixes", config=level)
    assert filter_runs([run], "cfg." + ".".join("a" * 40) + ".nothing=1") == []


# --- tracktui ls ---------------------------------------------------------------------------------


@pytest.fixture
def evil_db(tmp_path: Path) -> Path:
    db = tmp_path / "evil.db"
    for index in range(3):
        tracker.init(db=db, name=EVIL_NAME if index else "aaaa", quiet=True).finish()
    return db


def test_ls_with_a_catastrophic_regex_finishes(evil_db: Path) -> None:
    code = "import sys; from tui.cli import main; raise SystemExit(main(sys.argv[1:]))"
    result = run_python(
        code, "ls", "--db", str(evil_db), "--filter", EVIL, "--json", timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert '"aaaa"' in result.stdout and EVIL_NAME not in result.stdout


@pytest.mark.parametrize(
    "expression, message",
    [
        ("(" * 2000 + "a", "nested too deeply"),
        ("NOT " * 1200 + "a", "nested too deeply"),
        (r"name~'(a)\1'", "bad regular expression"),
        ("a " * MAX_LENGTH, "expression too long"),
    ],
    ids=["2000 (", "1200 NOT", "backreference", "too long"],
)
def test_ls_explains_hostile_expressions(
    evil_db: Path, capsys: pytest.CaptureFixture[str], expression: str, message: str
) -> None:
    assert main(["ls", "--db", str(evil_db), "--filter", expression]) == 2
    err = capsys.readouterr().err
    assert message in err and "^" in err
    assert "Traceback" not in err and "RecursionError" not in err
    assert len(err) < 600
    assert re.search(r"\n\s*\^", err)
