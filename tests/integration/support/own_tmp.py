"""Runs one integration test with a temporary folder of its own and fails it if it leaves anything
there: `own_tmp.py NAME COMMAND...`.

TMPDIR (read by Python's tempfile, Node's os.tmpdir(), mktemp and Chromium) points at a fresh
folder, so every temporary file or folder the test or the processes it starts create lands in
it. When the test ends the folder must be empty: anything left is listed and the test fails,
even when it passed otherwise. The folder is removed either way, so a run leaves nothing in /tmp.
"""
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    name, cmd = sys.argv[1], sys.argv[2:]
    own = tempfile.mkdtemp(prefix=f"tether-{name}-")
    os.chmod(own, 0o755)  # like /tmp, reachable by helpers that drop privileges (dnsmasq)
    try:
        env = dict(os.environ, TMPDIR=own)
        rc = subprocess.call(cmd, env=env)
        left = sorted(os.listdir(own))
        if left:
            print(f"{name}: left in its temporary folder: {', '.join(left)}", file=sys.stderr)
            if rc == 0:
                rc = 1
        return rc
    finally:
        shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
