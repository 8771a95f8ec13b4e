"""Planning the OS confinement of a runtime's workers: which files each kind of worker
may read, write and run, whether it may connect or start processes, and as which user —
the `Policy` that `bayou.runtimes.confinement` then applies in the worker.

    confiner = Confiner(node, [worker_scripts_dir], private=[data_dir], memory_bytes=4 << 30)
    policy = confiner.policy("queries and mutations", network=False, processes=False)
    argv = launcher_command(policy, [node, "worker.mjs", ...])  # or apply(policy) in-process

A worker reads the system's libraries and configuration (`SYSTEM_READ`, and for workers
that connect `NETWORK_READ`), its runtime's own installation, and what the runtime adds
(the app's modules); `private` directories are never granted, even through a directory
above them. As root, workers switch to uid 65534 when that user can reach the runtime's
files (`unreachable_for` says why not), else they stay root without capabilities.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Mapping

from bayou.runtimes.confinement import UNPRIVILEGED_ID, Policy, detect

# System files a worker may read: the dynamic loader and shared libraries, time zones,
# user names; name resolution and CA certificates for the workers that may connect.
SYSTEM_READ = (
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/share/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ssl/openssl.cnf",  # Node's OpenSSL reads it at start
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/proc/self",  # opened by the worker itself: its own /proc/<pid> (memory, limits)
)
NETWORK_READ = (
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
)
# Programs a worker that may start processes may run (and read).
SYSTEM_EXECUTE = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/libexec")


def unreachable_for(uid: int, paths: Iterable[str], programs: Iterable[str] = ()) -> str | None:
    """Why a process of `uid` (gid `uid`, no other group) could not read `paths` or run
    `programs`, or None when it can: every directory on the way must be searchable, each
    end readable (and executable for programs). Missing paths are skipped."""
    wanted = [(p, False) for p in paths] + [(p, True) for p in programs]
    for path, program in wanted:
        for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            problem = _closed_on_the_way(uid, candidate, program)
            if problem is not None:
                return problem
    return None


def _closed_on_the_way(uid: int, path: str, program: bool) -> str | None:
    parts = [part for part in path.split("/") if part]
    current = "/"
    for depth in range(len(parts) + 1):
        try:
            info = os.stat(current)
        except OSError:
            return None
        last = depth == len(parts)
        if not last:
            need = 1  # search the directory
        elif stat.S_ISDIR(info.st_mode):
            need = 4 | 1  # list and search
        else:
            need = 4 | (1 if program else 0)  # read (and run)
        shift = 6 if info.st_uid == uid else 3 if info.st_gid == uid else 0
        if (info.st_mode >> shift) & need != need:
            mode = stat.filemode(info.st_mode)
            return f"{current} ({mode}, owner uid {info.st_uid}) is closed to uid {uid}"
        if not last:
            current = os.path.join(current, parts[depth])
    return None


def _cannot_switch_user() -> str | None:
    """Why this root process could not switch a worker to another user (a container
    started without CAP_SETUID/CAP_SETGID), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith("CapEff:"))
    except (OSError, StopIteration):
        return None
    effective = int(line.split()[1], 16)
    if effective & (1 << 6) and effective & (1 << 7):  # CAP_SETGID, CAP_SETUID
        return None
    return "the server lacks CAP_SETUID/CAP_SETGID"


def loaders() -> tuple[str, ...]:
    """The dynamic loaders (ld-linux*), which execve runs along with every program."""
    found = set()
    for pattern in ("/lib*/ld-linux*.so*", "/usr/lib*/ld-linux*.so*", "/lib/*/ld-linux*.so*"):
        for path in glob.glob(pattern):
            found.add(path)
            found.add(os.path.realpath(path))
    return tuple(sorted(found))


def without_private(paths: Iterable[str], private: Iterable[str]) -> tuple[str, ...]:
    """`paths` less any that holds one of `private` (e.g. a sys.path entry "." that
    contains the data directory): granting it would grant the private directory too."""
    secret = [os.path.realpath(p) for p in private]
    kept = []
    for path in paths:
        real = os.path.realpath(path)
        if any(s == real or s.startswith(real.rstrip("/") + "/") for s in secret):
            continue
        if path not in kept:
            kept.append(path)
    return tuple(kept)


def worker_environment(
    passed: Iterable[str], extra: Mapping[str, str], source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A worker's whole environment: the named variables of the server's (`source`,
    default `os.environ`) that exist, then `extra`. Nothing else crosses."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in passed if name in source}
    env.update(extra)
    return env


class Confiner:
    """Plans the confinement of one runtime's workers: a `Policy` per kind of worker.

    `program` is the binary the workers run (node, python); `runtime_files` the files
    it needs besides the system's (its installation, the worker scripts, libraries);
    `private` directories that must stay unreadable even when a path above is granted
    (the data directory); `memory_bytes` the address-space cap of each worker.
    """

    def __init__(
        self,
        program: str,
        runtime_files: Iterable[str],
        *,
        private: Iterable[str] = (),
        memory_bytes: int = 0,
        enabled: bool = True,
    ) -> None:
        self.support = detect()
        self.enabled = enabled and self.support.linux
        self.program = os.path.realpath(program)
        self.private = tuple(private)
        self.runtime_files = without_private(
            dict.fromkeys([os.path.dirname(self.program), *runtime_files]), self.private
        )
        self.memory_bytes = memory_bytes
        self.user_problem: str | None = None
        self.uid: int | None = None
        if self.enabled and self.support.root:
            self.user_problem = _cannot_switch_user() or unreachable_for(
                UNPRIVILEGED_ID, self.runtime_files, [program, self.program]
            )
            if self.user_problem is None:
                self.uid = UNPRIVILEGED_ID

    def note(self, runtime: str) -> str | None:
        """Why this runtime's workers keep the server's user, if they do (as root)."""
        if not self.enabled or self.user_problem is None:
            return None
        return (
            f"{runtime} workers run as root with every capability dropped, not as uid "
            f"{UNPRIVILEGED_ID}: {self.user_problem} (install the runtime where every user "
            "can read it to run them unprivileged)"
        )

    def policy(
        self,
        name: str,
        *,
        network: bool,
        processes: bool,
        read: Iterable[str] = (),
        write: Iterable[str] = (),
        exec_after_start: bool = True,
    ) -> Policy | None:
        """The policy of one kind of worker (None: confinement is off or not Linux)."""
        if not self.enabled:
            return None
        system_read = SYSTEM_READ + (NETWORK_READ if network else ())
        execute = (self.program, *loaders(), *(SYSTEM_EXECUTE if processes else ()))
        return Policy(
            name=name,
            read=without_private([*system_read, *self.runtime_files, *read], self.private),
            execute=without_private(execute, self.private),
            write=tuple(write),
            network=network,
            processes=processes,
            exec_after_start=exec_after_start,
            memory_bytes=self.memory_bytes,
            uid=self.uid,
            drop_capabilities=self.support.root and self.uid is None,
            parent=os.getpid(),
        )

    def own(self, path: str, *, writable: bool = False) -> None:
        """Let the workers reach `path`, a directory the server made for them (0700 from
        mkdtemp): theirs when `writable`, else readable by their group only."""
        if self.uid is None:
            return
        if writable:
            os.chown(path, self.uid, self.uid)
            os.chmod(path, 0o700)
        else:
            os.chown(path, -1, self.uid)
            os.chmod(path, 0o750)
