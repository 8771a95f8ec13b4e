"""OS confinement of the worker processes that run function code (both runtimes).

Whatever function code manages inside a worker — plainly in Python, through a hole in the
JS realm, or in a compromised dependency bundled into the app — is bounded by what the
kernel lets that process do. Each worker gets, where the machine has the mechanism:

- a minimal environment (`confiner.worker_environment`): never the server's own variables
  (`INSTANCE_SECRET`, `POSTGRES_URL`, cloud credentials …);
- an unprivileged user (uid and gid 65534) when the server runs as root and the runtime's
  files are reachable by that user; otherwise, still root, every capability dropped;
- Landlock: files readable only beneath the runtime's own directories, the system
  libraries and the app's modules (never the data directory); writable nowhere, or only in
  a private temporary directory ("use node" and Python actions); no TCP for queries and
  mutations; no signals to, and no abstract sockets of, processes outside the sandbox;
- seccomp (libseccomp, through `pyseccomp`): no socket at all for queries and mutations,
  no new process for them and for isolate actions, and for every worker no ptrace, mount,
  namespaces, bpf, io_uring, keyrings, kernel modules or clock changes;
- rlimits: an address-space cap per worker (`RLIMIT_AS`), no core dumps, no file writes
  where there is nothing to write;
- the parent-death signal: a worker is killed when its server dies, however it dies.

`detect()` reports which mechanisms this machine lacks; the server logs that once at
start and `bayou doctor` prints it. `confiner.py` plans a `Policy` per kind of worker;
two entry points apply one: `apply(policy)` in the calling process (the Python worker,
before it imports user code), and this file run as a script, which applies the policy it
is given and then executes the worker (Node):

    python -I confinement.py '<policy JSON>' /path/to/node … worker.mjs …

It imports nothing of Bayou, so that the script runs isolated (`-I`) and quickly.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass
from typing import Any

UNPRIVILEGED_ID = 65534  # `nobody` / `nogroup` on Debian, Ubuntu, Fedora, Alpine
SCRIPT = os.path.abspath(__file__)
POLICY_VARIABLE = "BAYOU_CONFINEMENT"

SYSTEM_WRITE = ("/dev/null",)  # always writable (not a file: RLIMIT_FSIZE spares it)

# Syscalls no worker needs: process inspection, mounts and namespaces, kernel objects that
# outlive the process, and everything that would change the machine rather than compute.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "name_to_handle_at",
    "open_by_handle_at",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fanotify_init",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "vhangup",
    "lookup_dcookie",
)
NEW_PROCESS_SYSCALLS = ("fork", "vfork")
EXEC_SYSCALLS = ("execve", "execveat")
METADATA_SYSCALLS = (
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
)
CLONE_THREAD = 0x00010000
# Families a worker that may connect uses: IPv4 and IPv6 (never UNIX sockets, which
# lead to the machine's own services, nor raw or netlink ones); socketpair stays free.
SOCKET_FAMILIES = (2, 10)
SOCK_RAW = 3

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# SECBIT_NOROOT, _NOROOT_LOCKED, _NO_SETUID_FIXUP, _NO_SETUID_FIXUP_LOCKED,
# _KEEP_CAPS_LOCKED: uid 0 regains no capability through execve.
SECURE_BITS = 0x2F
CAPABILITY_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class Policy:
    """What one worker process may do; serialised to JSON for the launcher."""

    name: str  # "queries and mutations", "actions", … (for messages)
    read: tuple[str, ...] = ()  # hierarchies readable (files and listings)
    execute: tuple[str, ...] = ()  # files or hierarchies that may be executed
    write: tuple[str, ...] = ()  # hierarchies writable (files created, changed, removed)
    network: bool = False  # sockets at all (UNIX, IPv4, IPv6)
    processes: bool = False  # fork or clone a new process (threads are always fine)
    exec_after_start: bool = True  # execve once confined (the launcher needs one)
    memory_bytes: int = 0  # RLIMIT_AS; 0: no cap
    uid: int | None = None  # switch to this uid and gid (the server runs as root)
    drop_capabilities: bool = False  # root stays root: drop every capability
    parent: int = 0  # the server's pid: exit at once if it is already gone

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Policy:
        data = json.loads(text)
        for name in ("read", "execute", "write"):
            data[name] = tuple(data.get(name) or ())
        return cls(**data)


@dataclass(frozen=True)
class Support:
    """Which confinement mechanisms this machine offers (see `detect`)."""

    linux: bool
    root: bool
    landlock_abi: int
    landlock_problem: str | None
    seccomp_problem: str | None

    @property
    def landlock(self) -> bool:
        return self.landlock_abi > 0

    @property
    def seccomp(self) -> bool:
        return self.seccomp_problem is None

    def problems(self) -> list[str]:
        """One sentence per missing mechanism, saying what it costs (empty: all there)."""
        if not self.linux:
            return [
                "function workers are not confined by the operating system (Linux only): "
                "function code can read what the server's user can read"
            ]
        out = []
        if self.landlock_problem:
            out.append(
                f"Landlock is unavailable ({self.landlock_problem}): workers' file access "
                "is limited only by their user, and queries and mutations rely on seccomp "
                "alone for having no network"
            )
        elif self.landlock_abi < 4:
            out.append(
                f"Landlock ABI {self.landlock_abi} (kernel older than 6.7) has no network "
                "rules: queries and mutations rely on seccomp alone for having no network"
            )
        if self.seccomp_problem:
            out.append(
                f"seccomp is unavailable ({self.seccomp_problem}): queries and mutations may "
                "open sockets and start processes as far as Landlock and their user allow"
            )
        return out

    def summary(self) -> str:
        """One line for the server log and `bayou doctor`."""
        if not self.linux:
            return "unconfined (not Linux)"
        parts = [
            f"Landlock ABI {self.landlock_abi}" if self.landlock else "no Landlock",
            "seccomp" if self.seccomp else "no seccomp",
            "rlimits",
            "parent-death signal",
            "minimal environment",
        ]
        if self.root:
            parts.append(f"uid {UNPRIVILEGED_ID} where the runtime is readable by it")
        return ", ".join(parts)


@functools.cache
def detect() -> Support:
    """What the running kernel and Python offer (cached: it does not change)."""
    if not sys.platform.startswith("linux"):
        return Support(False, False, 0, "not Linux", "not Linux")
    landlock_abi, landlock_problem = _landlock_support()
    return Support(
        linux=True,
        root=os.geteuid() == 0,
        landlock_abi=landlock_abi,
        landlock_problem=landlock_problem,
        seccomp_problem=_seccomp_problem(),
    )


def _landlock_support() -> tuple[int, str | None]:
    try:
        import landlockpy
    except ImportError:
        return 0, "the Python package landlockpy is not installed"
    try:
        abi = landlockpy.abi_version()
    except OSError as e:
        return 0, f"the kernel refuses it: {e.strerror}"
    if abi < 1:
        return 0, "the kernel has no Landlock (Linux 5.13 or newer, with landlock in its LSM list)"
    return abi, None


def _seccomp_problem() -> str | None:
    try:
        _import_pyseccomp()
    except ImportError:
        return "the Python package pyseccomp is not installed"
    except (OSError, RuntimeError):
        return "libseccomp is not installed (Debian/Ubuntu: libseccomp2)"
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            if not any(line.startswith("Seccomp:") for line in status):
                return "the kernel was built without seccomp"
    except OSError:
        return None
    return None


def launcher_command(policy: Policy, argv: list[str]) -> list[str]:
    """The command that starts `argv` (a program path and its arguments) confined."""
    return [sys.executable, "-I", SCRIPT, policy.to_json(), *argv]


# --------------------------------------------------------------------------- applying


def apply(policy: Policy) -> None:
    """Confine the calling process (and whatever it executes) by `policy`; irreversible.

    Call it single-threaded: capabilities and seccomp filters are per thread (threads
    started later inherit them)."""
    if not sys.platform.startswith("linux"):
        return
    _die_with_parent(policy.parent)
    _limit_resources(policy)
    support = detect()
    if support.landlock:
        _apply_landlock(policy)
    if support.seccomp:
        _apply_seccomp(policy)
    if policy.uid is not None:
        os.setgroups([])
        os.setresgid(policy.uid, policy.uid, policy.uid)
        os.setresuid(policy.uid, policy.uid, policy.uid)
    elif policy.drop_capabilities:
        _drop_capabilities()
    # Changing credentials clears the parent-death signal: set it again, last.
    _die_with_parent(policy.parent)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent: int) -> None:
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent and os.getppid() != parent:
        os._exit(0)  # the server died before the signal was armed


def _limit_resources(policy: Policy) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if policy.memory_bytes:
        _lower(resource.RLIMIT_AS, policy.memory_bytes)
    if not policy.write:
        # Nothing to write: a write past byte 0 of a regular file fails (EFBIG).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _lower(resource.RLIMIT_FSIZE, 0)


def _lower(which: int, value: int) -> None:
    import resource

    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _apply_landlock(policy: Policy) -> None:
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope

    read = AccessFS.READ_FILE | AccessFS.READ_DIR
    file_rights = (
        AccessFS.EXECUTE
        | AccessFS.WRITE_FILE
        | AccessFS.READ_FILE
        | AccessFS.TRUNCATE
        | AccessFS.IOCTL_DEV
    )
    net = AccessNet.NONE if policy.network else AccessNet.BIND_TCP | AccessNet.CONNECT_TCP
    scopes = Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL
    with Ruleset(handled_net=net, scoped=scopes) as rules:
        grants = [
            *((path, read) for path in policy.read),
            *((path, read | AccessFS.EXECUTE) for path in policy.execute),
            *((path, rules.handled_fs) for path in policy.write),
            *((path, AccessFS.READ_FILE | AccessFS.WRITE_FILE) for path in SYSTEM_WRITE),
        ]
        for path, access in grants:
            if not os.path.isdir(path):
                access &= file_rights  # a file takes only the rights of files
            try:
                rules.allow_path(path, access)
            except OSError:
                pass  # a path this machine does not have
        rules.restrict()


def _apply_seccomp(policy: Policy) -> None:
    sc = _import_pyseccomp()

    rules = sc.SyscallFilter(sc.ALLOW)

    def deny(name: str, *args: Any, code: int = errno.EPERM) -> None:
        try:
            rules.add_rule(sc.ERRNO(code), name, *args)
        except (OSError, ValueError, RuntimeError):
            pass  # not a syscall of this architecture

    for name in DENIED_SYSCALLS:
        deny(name)
    if not policy.network:
        deny("socket")
    else:
        deny("socket", sc.Arg(0, sc.GT, max(SOCKET_FAMILIES)), code=errno.EAFNOSUPPORT)
        for family in range(max(SOCKET_FAMILIES)):
            if family not in SOCKET_FAMILIES:
                deny("socket", sc.Arg(0, sc.EQ, family), code=errno.EAFNOSUPPORT)
        deny("socket", sc.Arg(1, sc.MASKED_EQ, 0xF, SOCK_RAW))
    if not policy.processes:
        for name in NEW_PROCESS_SYSCALLS:
            deny(name)
        deny("clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        # clone3 passes its flags in memory, out of a filter's reach: refused as unknown,
        # so that libc falls back to clone for threads.
        deny("clone3", code=errno.ENOSYS)
    if not policy.exec_after_start:
        for name in EXEC_SYSCALLS:
            deny(name)
    if policy.uid is None and os.geteuid() == 0 and not policy.write:
        for name in METADATA_SYSCALLS:
            deny(name)
    rules.load()


def _import_pyseccomp() -> Any:
    """pyseccomp, which loads libseccomp when imported. It finds the library with
    `ctypes.util.find_library`, which runs `ldconfig -p` (~20 ms of every worker's start):
    the soname every distribution ships is tried first."""
    if "pyseccomp" in sys.modules:
        return sys.modules["pyseccomp"]
    import ctypes.util

    search = ctypes.util.find_library

    def find(name: str) -> str | None:
        if name == "seccomp":
            try:
                ctypes.CDLL("libseccomp.so.2")
                return "libseccomp.so.2"
            except OSError:
                pass
        return search(name)

    ctypes.util.find_library = find
    try:
        import pyseccomp
    finally:
        ctypes.util.find_library = search
    return pyseccomp


def _drop_capabilities() -> None:
    libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # EINVAL past the last capability this kernel knows
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    libc.prctl(PR_SET_SECUREBITS, SECURE_BITS, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def main(argv: list[str]) -> None:
    """`confinement.py '<policy JSON>' program args…`: confine, then become `program`."""
    policy = Policy.from_json(argv[1])
    program = argv[2:]
    env = dict(os.environ)
    env.pop(POLICY_VARIABLE, None)
    try:
        apply(policy)
    except Exception as e:  # better no worker than an unconfined one
        print(f"bayou: could not confine the worker: {e}", file=sys.stderr)
        os._exit(70)
    os.execve(program[0], program, env)


if __name__ == "__main__":
    main(sys.argv)
