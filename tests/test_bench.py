"""The bench's verdict on correctness: speed is reported, but a credmock that answers wrongly
under load fails ``make bench`` (and so the project's CI)."""

from __future__ import annotations

from bench.cli import wrong_answer_status
from bench.report import Figures
from bench.servers import Target, credmock_target


def reference(key: str) -> Target:
    return Target(key, key, ("true",), stateful=False)


def figures_with(wrong: dict[str, list[int]]) -> dict[str, Figures]:
    return {
        key: Figures(runs=[{"wrong_answers": count} for count in counts]) for key, counts in wrong.items()
    }


def test_bench_fails_when_a_credmock_variant_answers_wrongly_under_load(capsys) -> None:
    targets = [credmock_target("credmock"), credmock_target("credmock-sqlite"), reference("prism")]

    wrong = {"credmock": [0, 0], "credmock-sqlite": [0, 3], "prism": [0]}

    status = wrong_answer_status(targets, figures_with(wrong))

    assert status == 1
    assert "credmock-sqlite" in capsys.readouterr().err


def test_bench_passes_when_only_a_reference_server_answers_wrongly() -> None:
    targets = [credmock_target("credmock"), reference("prism")]

    assert wrong_answer_status(targets, figures_with({"credmock": [0, 0], "prism": [12]})) == 0
