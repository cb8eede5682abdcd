"""The scenarios: names and aliases, the backend each needs, the meshgate-bench arguments of each,
and the metrics each reports (table columns, progress lines, chart)."""

PLAIN = ["throughput1", "throughput16", "connrate", "pingpong1", "pingpong16", "idle"]
CHAIN = ["chain-throughput1", "chain-throughput16", "chain-connrate", "chain-connrate-resumed",
         "chain-pingpong1", "chain-pingpong16", "chain-idle"]
# --smoke without --scenarios: every plain scenario and one of each kind of chain scenario.
SMOKE = PLAIN + ["chain-throughput16", "chain-connrate", "chain-pingpong16", "chain-idle"]
KNOWN = PLAIN + ["download1", "download16"] + CHAIN
ALIASES = {
    "all": PLAIN + CHAIN,
    "chain": CHAIN,
    "throughput": ["throughput1", "throughput16"],
    "download": ["download1", "download16"],
    "pingpong": ["pingpong1", "pingpong16"],
    "chain-throughput": ["chain-throughput1", "chain-throughput16"],
    "chain-pingpong": ["chain-pingpong1", "chain-pingpong16"],
    "chain-connrates": ["chain-connrate", "chain-connrate-resumed"],
}

# chain-idle opens its connections with TLS handshakes; they get this long (--open-timeout) to open.
CHAIN_IDLE_OPEN_TIMEOUT = 120

# (key, unit, better, scale) per metric family: table value = result[key] * scale.
METRICS = {
    "throughput": [("gbps", "Gbit/s", "higher", 1)],
    "download": [("gbps", "Gbit/s", "higher", 1)],
    "connrate": [("conn_per_s", "conn/s", "higher", 1)],
    "pingpong": [("p50_us", "p50 µs", "lower", 1), ("p99_us", "p99 µs", "lower", 1),
                 ("p999_us", "p99.9 µs", "lower", 1), ("rps", "req/s", "higher", 1)],
    "idle": [("rss_per_conn_bytes", "RSS B/conn", "lower", 1)],
    "chain-idle": [("rss_per_conn_bytes", "RSS KiB/conn, both", "lower", 1 / 1024),
                   ("rss_per_conn_bytes_1", "KiB/conn originating", "lower", 1 / 1024),
                   ("rss_per_conn_bytes_2", "KiB/conn terminating", "lower", 1 / 1024),
                   ("rss_after_kib", "RSS MiB after, both", "lower", 1 / 1024)],
}
# The result field that counts failed connections, per family.
ERRORS_KEY = {"throughput": "errors", "download": "errors", "connrate": "failures",
              "pingpong": "errors", "idle": "failures", "chain-idle": "failures"}


class UnknownScenario(ValueError):
    """A name in --scenarios that is neither a scenario nor an alias."""


def expand(text):
    """Comma-separated names and aliases → scenario names, repeats dropped (first position kept)."""
    out = []
    for name in text.split(","):
        if name == "":
            continue
        if name in ALIASES:
            names = ALIASES[name]
        elif name in KNOWN:
            names = [name]
        else:
            raise UnknownScenario(name)
        out += [n for n in names if n not in out]
    return out


def is_chain(scenario):
    """Whether the scenario runs through an mTLS chain of two proxies."""
    return scenario.startswith("chain-")


def is_idle(scenario):
    """Whether the scenario measures the proxies' memory (it needs their process ids)."""
    return scenario in ("idle", "chain-idle")


def base(scenario):
    """The client's workload of a scenario: chain-connrate-resumed → connrate, chain-pingpong16 →
    pingpong16 (a chain scenario runs a plain one through the chain)."""
    return scenario.removeprefix("chain-").removesuffix("-resumed")


def full_handshakes(scenario):
    """Whether every TLS hop of the scenario must be a full handshake (resumption off)."""
    return scenario == "chain-connrate"


def family(scenario):
    """Metric family: throughput1 → throughput, chain-pingpong16 → pingpong, chain-idle → chain-idle."""
    if scenario == "chain-idle":
        return scenario
    return base(scenario).rstrip("0123456789")


def behavior(scenario):
    """The meshgate-bench backend behaviour the scenario needs."""
    workload = base(scenario)
    if workload.startswith("throughput"):
        return "sink"
    if workload.startswith("download"):
        return "source"
    return "echo"


def bench_args(scenario, idle_connections, chain_idle_connections):
    """meshgate-bench arguments of one scenario (idle gets its --pid arguments from the runner)."""
    workload = base(scenario)
    fixed = {
        "throughput1": "throughput --streams 1 --direction up",
        "throughput16": "throughput --streams 16 --direction up",
        "download1": "throughput --streams 1 --direction down",
        "download16": "throughput --streams 16 --direction down",
        "connrate": "connrate --concurrency 32",
        "pingpong1": "pingpong --concurrency 1 --size 64",
        "pingpong16": "pingpong --concurrency 16 --size 64",
    }
    if scenario == "idle":
        return f"idle --connections {idle_connections} --settle 1s".split()
    if scenario == "chain-idle":
        return (f"idle --connections {chain_idle_connections} --settle 1s"
                f" --open-timeout {CHAIN_IDLE_OPEN_TIMEOUT}s").split()
    return fixed[workload].split()
