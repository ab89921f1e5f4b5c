"""The exceptions the library raises; `__main__` is the one place that turns them into output."""


class PyrpathError(Exception):
    """A failure the user can act on: the message names the problem and the fix.

    `log` is the path of the full log when there is one; `tail` its last lines.
    """

    exit_code = 1

    def __init__(self, message, log=None, tail=None):
        super().__init__(message)
        self.log = log
        self.tail = tail


class UsageError(PyrpathError):
    """Bad options or a bad settings file: nothing was started."""

    exit_code = 2


class AuditError(PyrpathError):
    """dh_pyrpath --audit could not audit something (an unreadable package or advisory file,
    no apt index): its verdict would be incomplete."""

    exit_code = 2
