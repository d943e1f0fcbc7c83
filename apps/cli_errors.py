"""How every ``emr-platform`` command reports an expected failure: one line on stderr per problem.

Commands run inside :func:`clean_errors`; a traceback is left only for what is a bug.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from emr_platform.config import ConfigError

# Error lines stay whole (no wrapping), for grep and logs.
err = Console(stderr=True, soft_wrap=True)

INTERRUPTED = 130  # the shell's exit code after Ctrl-C


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error <message>`` on stderr; the ``typer.Exit`` (exit code ``code``) to raise."""
    err.print(f"[red]error[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """Expected failures as one line each on stderr and exit code 1: a ``ConfigError`` (a line per
    problem), a missing or refused path, a preview or session that cannot be made, an AWS error
    (``AWS: <code>: <message>``) or an unreachable AWS; Ctrl-C as exit code 130, after the
    ``with`` block's own cleanup has run."""
    from botocore.exceptions import BotoCoreError, ClientError

    from emr_platform.preview import PreviewError
    from emr_platform.sessions import SessionError
    from emr_platform.lake.storage import PathError

    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red] {escape(problem)}", highlight=False)
        raise typer.Exit(1) from None
    except (PathError, PreviewError, SessionError, FileNotFoundError, FileExistsError, PermissionError) as exc:
        raise fail(str(exc)) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise fail(f"AWS: {error.get('Code')}: {error.get('Message', str(exc))}") from None
    except BotoCoreError as exc:
        raise fail(f"AWS: {exc}; check your network and AWS credentials") from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing was left running", INTERRUPTED) from None
