"""The control for every other case: two linked gateways carry a mirrored route end to end, so a
refusal seen by a later case is the gateway's doing, not the harness's."""

from harness import Case, Fail


def baseline(h) -> str:
    west = h.echo_gateway("west", "echo", "echo-west")
    east = h.gateway("east")
    east.link(west)
    port = east.wait_route("default/echo-west:7000")
    answer = h.outcome(port, b"hello\n")
    if answer != "echo-west:hello\n":
        raise Fail(f"through default/echo-west:7000 on port {port}: got {answer!r}")
    return f"east -> west through default/echo-west:7000 on port {port}"


CASES = [Case("baseline-mirrored-route", baseline, backends=("uring", "epoll"), timeout=60)]
