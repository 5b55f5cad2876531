"""Run a command and print its wall time, CPU time and peak RSS as JSON on stderr's last line.

The benchmark starts every tool through this small process: Linux charges a child's ``ru_maxrss``
with the memory of the process it was forked from, so measuring from the (large) benchmark process
itself would put the benchmark's own memory into every tool's figure.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the tool
        try:
            os.execvp(argv[0], argv)  # noqa: S606 - argv comes from the benchmark, never a shell
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    # CPU: user + system time of the tool and of every process it waited for (Linux wait4)
    sys.stderr.write("\n" + json.dumps({"rusage_wall": time.perf_counter() - start,
                                        "rusage_cpu": usage.ru_utime + usage.ru_stime,
                                        "rusage_maxrss_kib": usage.ru_maxrss}) + "\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
