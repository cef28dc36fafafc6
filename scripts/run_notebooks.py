#!/usr/bin/env python3
"""Executes course notebooks headless with Jupyter's own nbclient, in order, and exports them.

    python3 scripts/run_notebooks.py [--out reports] [--timeout 900] [--no-html] NB.ipynb [NB.ipynb ...]

For each notebook: starts the repo-local TypeScript kernel (jupyter/kernels/tslab-course, written by
`npm run setup`), runs the code cells one by one, numbers them (tslab leaves execution_count empty),
stops at the first failing cell and prints that cell's number, source and stderr (tslab reports errors
only on stderr, so nbclient's own message is empty), writes the executed notebook to OUT (also when it
failed, to inspect), signs it so the Notebook UI trusts its charts, and exports OUT/NAME.html.
Notebooks are sequential: after a failure the later ones are not run. Exit code 0 when all passed.

Stopping: SIGINT, SIGTERM and SIGHUP (a repeated one is the same request) interrupt the running cell, shut
the kernel down and exit with 128 + the signal's number; so does the death of the process that started this
runner (checked every second, since a `kill -9` of `npm run course` sends nothing). The kernel itself also
exits when this runner is killed outright (scripts/kernel.cjs).
"""
import argparse
import os
import signal
import sys
import threading
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = "tslab-course"
# Let Jupyter find the repo-local kernelspec before any user-wide one.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    p for p in [os.path.join(ROOT, "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p
)

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402
from nbformat.sign import NotebookNotary  # noqa: E402


UMASK = os.umask(0)
os.umask(UMASK)


def atomic_write(path, text):
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Stopped(BaseException):
    """A stop signal (or the parent's death) while running; BaseException so that no cell handler swallows it."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def handle_stop_signals():
    """First SIGINT / SIGTERM / SIGHUP raises Stopped in the main thread; later ones are the same request."""
    state = {"stopping": False}

    def on_signal(signum, _frame):
        if state["stopping"]:
            return
        state["stopping"] = True
        raise Stopped(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    parent = os.getppid()

    def watch_parent():
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGHUP)
                return

    threading.Thread(target=watch_parent, daemon=True).start()


def cell_stderr(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts).strip()


def indent(text, prefix="    | "):
    return "\n".join(prefix + line for line in text.splitlines()) if text else prefix + "(empty)"


def execute(path, timeout, kernel):
    """Runs one notebook; returns (nb, failure) where failure is None or a dict describing the failing cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cells without ids (older nbformat) get ids below
        nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = f"cell-{i}"
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "TypeScript (course)", "language": "typescript"}
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=False, record_timing=True,
                            resources={"metadata": {"path": ROOT}})
    name = os.path.basename(path)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    failure = None
    with client.setup_kernel():
        for n, index in enumerate(code_cells, start=1):
            cell = nb.cells[index]
            if not cell.source.strip():
                continue
            started = time.time()
            try:
                client.execute_cell(cell, index, execution_count=n)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                failure = {"index": index, "number": n, "source": cell.source, "stderr": cell_stderr(cell),
                           "error": f"{type(err).__name__}: {str(err).strip()}"}
            cell.execution_count = n
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = n
            status = "FAILED" if failure else "ok"
            print(f"[{name}] cell {n}/{len(code_cells)} {status} ({time.time() - started:.1f} s)", flush=True)
            if failure:
                break
    return nb, failure


def lock_owner(lock):
    """The protocol of src/files.ts lockTarget: the holder's pid, "starting" (empty for under 2 s), "stale" or "gone"."""
    try:
        age = time.time() - os.stat(lock).st_mtime
        with open(lock) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return "gone"
    except OSError:
        return "stale"
    if not text:
        return "stale" if age > 2 else "starting"
    try:
        pid = int(text.split()[0])
    except ValueError:
        return "stale"
    if pid <= 0:
        return "stale"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "stale"
    except PermissionError:
        pass
    return pid


def record_timing(out, notebook, seconds, status):
    """Adds this notebook's time to OUT/results.json under the lock src/course/results.ts takes (lockTarget)."""
    import json
    path = os.path.join(out, "results.json")
    lock = os.path.join(out, ".results.json.lock")
    started = time.time()
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            break
        except FileExistsError:
            owner = lock_owner(lock)
            if owner == "gone":
                continue
            if owner == "stale":
                try:
                    os.remove(lock)
                except FileNotFoundError:
                    pass
                continue
            if time.time() - started > 30:
                print(f"warning: {lock} is held by {owner}; timing of {notebook} not recorded", file=sys.stderr)
                return
            time.sleep(0.05)
    try:
        data = {"version": 1, "results": [], "comparisons": [], "timings": []}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        timings = [t for t in data.get("timings", []) if t.get("notebook") != notebook]
        timings.append({"notebook": notebook, "seconds": round(seconds, 1), "status": status,
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        data["timings"] = sorted(timings, key=lambda t: t["notebook"])
        atomic_write(path, json.dumps(data, indent=1) + "\n")
    except (OSError, ValueError) as err:
        print(f"warning: could not record the timing in {path}: {err}", file=sys.stderr)
    finally:
        try:
            os.remove(lock)
        except FileNotFoundError:
            pass


def export_html(nb, out_html):
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_notebook_node(nb)
    atomic_write(out_html, body)


def main():
    handle_stop_signals()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", default=os.path.join(ROOT, "reports"))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("COURSE_CELL_TIMEOUT", "900")),
                    help="seconds a cell may run (default: COURSE_CELL_TIMEOUT or 900)")
    ap.add_argument("--kernel", default=KERNEL)
    ap.add_argument("--no-html", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    # The kernels write reports/results.json (src/course/results.ts) next to the executed notebooks.
    os.environ["COURSE_REPORTS_DIR"] = os.path.abspath(args.out)
    notary = NotebookNotary()
    summary = []
    for path in args.notebooks:
        if not os.path.exists(path):
            print(f"ERROR: notebook not found: {path}", file=sys.stderr)
            return 2
        name = os.path.splitext(os.path.basename(path))[0]
        started = time.time()
        try:
            nb, failure = execute(path, args.timeout, args.kernel)
        except Exception as err:  # kernel could not start, unreadable notebook, ...
            print(f"\nERROR: {path}: {type(err).__name__}: {err}", file=sys.stderr)
            if "No such kernel" in str(err):
                print("The TypeScript kernel is not registered: run `npm run setup` first.", file=sys.stderr)
            return 1
        out_nb = os.path.join(args.out, name + ".ipynb")
        notary.sign(nb)
        atomic_write(out_nb, nbformat.writes(nb))
        if not args.no_html:
            export_html(nb, os.path.join(args.out, name + ".html"))
        elapsed = time.time() - started
        record_timing(args.out, name, elapsed, "failed" if failure else "ok")
        if failure:
            print(f"\nFAILED: {path}, code cell [{failure['number']}] (cell {failure['index'] + 1} of "
                  f"{len(nb.cells)} in the file, counting markdown cells) after {elapsed:.1f} s", file=sys.stderr)
            print("  source:\n" + indent(failure["source"]), file=sys.stderr)
            print("  error:\n" + indent(failure["stderr"] or failure["error"]), file=sys.stderr)
            print(f"  the partly executed notebook is in {out_nb}", file=sys.stderr)
            later = args.notebooks[args.notebooks.index(path) + 1:]
            if later:
                print(f"  not run (they build on this one): {', '.join(os.path.basename(p) for p in later)}", file=sys.stderr)
            return 1
        summary.append((path, elapsed))
        print(f"[{name}] done in {elapsed:.1f} s -> {out_nb}", flush=True)
    print("\nper-notebook times (wall clock):")
    for path, elapsed in summary:
        print(f"  {os.path.basename(path):40s} {elapsed:7.1f} s")
    print(f"  {'total':40s} {sum(e for _, e in summary):7.1f} s")
    print(f"\n{len(summary)} notebook(s) executed, 0 failed; outputs in {args.out} (timings also in results.json)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Stopped as stop:
        # setup_kernel()'s exit has shut the kernel down by now; the interrupted cell's task is not news.
        import logging
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        print(f"\nstopped by {stop}; the kernel was shut down", file=sys.stderr, flush=True)
        sys.exit(128 + stop.signum)
