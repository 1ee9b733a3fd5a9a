"""Every option of a command also from an environment variable, as containers and CI set them.

``read_environment(parser, "CREDMOCK_")`` gives each option of ``parser`` (``--reset-link``)
a variable (``CREDMOCK_RESET_LINK``) whose value becomes the option's default, so a flag on
the command line still wins; ``--help`` names the variable. It works on whatever options the
parser has when it is called, so options added later get it without further code.

Values are read as the flag would read them: the option's type and choices apply; switches
take 1/0, true/false, yes/no, on/off; repeatable options take a comma-separated list. An empty
variable counts as unset. A bad value is not an error until it is used: it becomes an
:class:`InvalidEnvironmentValue` default, which :func:`invalid_environment_values` finds in
the parsed arguments (a flag given for the same option replaces it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credmock.core.redaction import url_without_password

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# argparse's own actions that are not options of the command.
NOT_SETTINGS = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


@dataclass(frozen=True)
class InvalidEnvironmentValue:
    """Stands in for an option's value when its variable could not be read."""

    variable: str
    value: str
    reason: str

    def message(self) -> str:
        """One line naming the variable and the rule; a URL's password is never shown."""
        return f"{self.variable}={url_without_password(self.value)!r}: {self.reason}"


def variable_name(action: argparse.Action, prefix: str) -> str:
    """``--email-change-link`` -> ``CREDMOCK_EMAIL_CHANGE_LINK`` (the first long option)."""
    name = next((option for option in action.option_strings if option.startswith("--")), None)
    return prefix + (name or max(action.option_strings, key=len)).lstrip("-").upper().replace("-", "_")


def _is_switch(action: argparse.Action) -> bool:
    return action.nargs == 0 and not isinstance(action, argparse._CountAction)


def _convert(action: argparse.Action, text: str) -> Any:
    """``text`` as the action's value; ValueError names what is wrong."""
    if _is_switch(action):
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True if isinstance(action, argparse.BooleanOptionalAction) else action.const
        if word in FALSE_WORDS:
            return False if isinstance(action, argparse.BooleanOptionalAction) else action.default
        raise ValueError("expected one of 1/0, true/false, yes/no, on/off")
    if isinstance(action, argparse._CountAction):
        return _typed(action, text, int)
    if isinstance(action, (argparse._AppendAction, argparse._ExtendAction)) or action.nargs in ("*", "+"):
        return [_typed(action, part.strip(), action.type) for part in text.split(",") if part.strip()]
    return _typed(action, text, action.type)


def _typed(action: argparse.Action, text: str, kind: Any) -> Any:
    try:
        value = kind(text) if callable(kind) else text
    except argparse.ArgumentTypeError as error:  # a check's own words, naming the rule
        raise ValueError(str(error)) from None
    except (TypeError, ValueError) as error:
        name = getattr(kind, "__name__", "")
        raise ValueError(f"not a valid {name} value" if name else str(error)) from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"expected one of {', '.join(map(str, action.choices))}")
    return value


def read_environment(
    parser: argparse.ArgumentParser, prefix: str, environ: Mapping[str, str] | None = None
) -> None:
    """Each option of ``parser`` defaults to its ``prefix``-named variable; ``--help`` says which."""
    environ = os.environ if environ is None else environ
    for action in parser._actions:  # argparse has no public list of a parser's actions
        if not action.option_strings or isinstance(action, NOT_SETTINGS):
            continue
        variable = variable_name(action, prefix)
        if action.help != argparse.SUPPRESS:
            action.help = f"{action.help} [env: {variable}]" if action.help else f"[env: {variable}]"
        text = environ.get(variable, "")
        if not text:
            continue
        try:
            action.default = _convert(action, text)
        except ValueError as error:
            action.default = InvalidEnvironmentValue(variable, text, str(error))
        action.required = False


def invalid_environment_values(arguments: argparse.Namespace) -> list[InvalidEnvironmentValue]:
    """The options whose value came from a variable that could not be read."""
    return [value for value in vars(arguments).values() if isinstance(value, InvalidEnvironmentValue)]
