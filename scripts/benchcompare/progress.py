"""Messages on standard error: progress lines (one per scenario, target and run, with its result),
diagnostics, and the notes that are repeated under the tables."""

import sys


class Progress:
    """Writes `bench-compare: ...` lines on standard error. On a terminal a run's line is written
    when the run starts and completed with its result; elsewhere (CI logs) it is written once, at
    the end of the run."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.open = False
        self.notes = []

    def _end_open_line(self):
        if self.open:
            self.stream.write("\n")
            self.open = False

    def say(self, message):
        """One diagnostic line."""
        self._end_open_line()
        print(f"bench-compare: {message}", file=self.stream, flush=True)

    def note(self, message):
        """A diagnostic line that is also listed under the tables."""
        self.notes.append(message)
        self.say(message)

    def run_started(self, what):
        """A run begins: on a terminal its line shows now."""
        self._end_open_line()
        if self.interactive:
            self.stream.write(f"bench-compare: {what} … ")
            self.stream.flush()
            self.open = True

    def run_finished(self, what, result):
        """A run ended with `result` (one line of text)."""
        if self.open:
            self.stream.write(f"{result}\n")
            self.open = False
        else:
            print(f"bench-compare: {what}: {result}", file=self.stream)
        self.stream.flush()
