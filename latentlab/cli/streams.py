"""The standard streams and background threads of the `latentlab` command (the CLI package's part).

A closed fd 0-2 is pointed at /dev/null before anything opens a file; a write error on stdout names
"standard output"; a background thread's exception never prints a traceback once the command has
chosen its exit code.
"""

from __future__ import annotations

import errno
import os
import sys

from latentlab.cli.progress import silence


class NamedStdout:
    """Standard output whose write errors name it: `latentlab presets > /dev/full` says which file is full."""

    def __init__(self, stream):
        self._stream = stream

    def _named(self, exc: OSError) -> OSError:
        if exc.filename is not None or exc.errno is None or isinstance(exc, BrokenPipeError):
            return exc
        return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), "standard output")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._named(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._named(exc) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _ClosedStdout:
    """Standard output when the command was started with it closed (`latentlab presets >&-`): a
    command that prints its result fails with one line; one that prints nothing runs as usual."""

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OSError(errno.EBADF, "closed, so the output has nowhere to go", "standard output")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1


def reopen_closed_streams() -> None:
    """A closed fd 0, 1 or 2 is pointed at /dev/null before anything opens a file: otherwise the next
    file opened takes that number, and whatever writes to "stderr" writes into it. Progress on a
    closed stderr is dropped; a result on a closed stdout is an error (_ClosedStdout)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        devnull = os.open(os.devnull, os.O_RDWR)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        if fd == 1:
            sys.stdout = _ClosedStdout()
        elif fd == 2:
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:  # started without an fd 1 at all
        sys.stdout = _ClosedStdout()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


class BackgroundErrors:
    """An exception in a background thread never prints a traceback after the command has chosen its
    exit code (a worker finishing against a window already closed, say). Before that, one is
    reported in one line if the command otherwise succeeded (or said already by the command's own
    error); only while the window is open does Python's own hook show it in full."""

    def __init__(self):
        import threading

        self.decided = False
        self.show_while_running = False
        self.first: BaseException | None = None
        self._original = threading.excepthook
        self._original_unraisable = sys.unraisablehook
        threading.excepthook = self._thread
        sys.unraisablehook = self._unraisable

    def _thread(self, args) -> None:
        if self.decided:
            return
        if self.show_while_running:
            self._original(args)
        elif self.first is None and args.exc_value is not None:
            self.first = args.exc_value

    def _unraisable(self, unraisable) -> None:
        # "Exception ignored in ...": a finaliser, mostly at teardown; nothing the user can act on
        if self.show_while_running and not self.decided:
            self._original_unraisable(unraisable)

    def status(self, status: int) -> int:
        if status != 0 or self.first is None:
            return status
        exc = self.first
        if isinstance(exc, OSError):
            say_error(describe_os_error(exc))
            return 2
        say_error(f"a background task failed: {type(exc).__name__}: {exc}")
        return 1


def describe_os_error(exc: OSError) -> str:
    """"PATH: No space left on device": the file and the system's reason, no traceback."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" if where else reason


def say_error(text: str, prefix: str = "latentlab: error: ") -> None:
    try:
        print(f"{prefix}{text}", file=sys.stderr)
    except OSError:  # stderr itself is gone: the exit code is all that is left to say it
        silence(sys.stderr)
